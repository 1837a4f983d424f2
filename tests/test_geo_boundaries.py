"""Boundary installation and web layers (geo.boundaries), on the fixtures in ../shared/geo."""

import json
import os
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

from geo import boundaries as B
from geo.__main__ import main as cli_main

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "geo"
needs_shared = pytest.mark.skipif(
    not (SHARED / "README.md").exists(),
    reason=f"boundary fixtures not found: expected the shared folder at ../shared/geo "
           f"relative to the repository ({SHARED.name} missing); these tests need real files")

# file -> (vintage, level, features, matched, missing, extra) as stated in ../shared/geo/README.md
EXPECTED = {
    "provinces_2019.geojson": ("2019", "province", 63, 63, [], []),
    "districts_2019.geojson": ("2019", "district", 705, 694, ["224", "475"],
                               ["221", "358", "369", "405", "413", "448", "483", "519", "681",
                                "683", "752"]),
    "communes_87_dong_thap.geojson": ("2019", "commune", 141, 141, [], []),
    "communes_89_an_giang.geojson": ("2019", "commune", 155, 155, [], []),
    "communes_62_kon_tum.geojson": ("2019", "commune", 102, 102, [], []),
    "communes_70_binh_phuoc.geojson": ("2019", "commune", 111, 111, [], []),
    "provinces_2025.geojson": ("2025", "province", 34, 34, [], []),
    "communes_2025_82_dong_thap.geojson": ("2025", "commune", 102, 102, [], []),
}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Every shared file installed once into a temporary data dir (SIPAS_GEO_DATA)."""
    if not (SHARED / "README.md").exists():
        pytest.skip("boundary fixtures in ../shared/geo are absent")
    root = tmp_path_factory.mktemp("geo_data")
    mp = pytest.MonkeyPatch()
    mp.setenv("SIPAS_GEO_DATA", str(root))
    reports = {name: B.install(SHARED / name, vintage, level) for name, (vintage, level, *_) in EXPECTED.items()}
    yield root, reports
    mp.undo()
    B._clear_caches()


@pytest.fixture
def small(tmp_path):
    """The Đồng Tháp commune file, for making bad inputs."""
    if not (SHARED / "communes_87_dong_thap.geojson").exists():
        pytest.skip("boundary fixtures in ../shared/geo are absent")
    return gpd.read_file(SHARED / "communes_87_dong_thap.geojson")


def test_data_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SIPAS_GEO_DATA", str(tmp_path))
    assert B.data_dir() == tmp_path
    monkeypatch.delenv("SIPAS_GEO_DATA")
    assert B.data_dir().name == "geo_data"
    assert B.data_dir().parent == Path(B.__file__).resolve().parents[1]


def test_nothing_installed(monkeypatch, tmp_path):
    monkeypatch.setenv("SIPAS_GEO_DATA", str(tmp_path))
    assert B.installed_layers() == []
    assert B.load_layer("2019", "district") is None
    assert B.layer_geojson("2025", "commune", "82") is None


@needs_shared
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_install_counts_match_readme(installed, name):
    _, reports = installed
    r = reports[name]
    vintage, level, features, matched, missing, extra = EXPECTED[name]
    assert r.ok, r.text()
    assert r.errors == []
    assert r.features == features
    assert r.matched == matched
    assert r.missing_codes == missing
    assert r.extra_codes == extra
    assert r.matched_by == "code" and r.code_column == "code"
    assert r.unmatched_names == []
    assert "OK" in r.text() and str(features) in r.text()


@needs_shared
def test_installed_layers_and_merge_by_province(installed):
    root, _ = installed
    layers = {(layer["vintage"], layer["level"]): layer for layer in B.installed_layers()}
    assert set(layers) == {("2019", "province"), ("2019", "district"), ("2019", "commune"),
                           ("2025", "province"), ("2025", "commune")}
    com = layers[("2019", "commune")]
    # four single-province commune files merged, none lost
    assert com["provinces"] == ["62", "70", "87", "89"]
    assert com["features"] == 141 + 155 + 102 + 111
    assert layers[("2019", "district")]["features"] == 705
    # no temporary directories left behind
    assert not [p for p in (root / "2019").iterdir() if p.name.startswith(".")]


@needs_shared
@pytest.mark.parametrize("vintage,level", [("2019", "province"), ("2019", "district"),
                                           ("2019", "commune"), ("2025", "province"),
                                           ("2025", "commune")])
def test_layers_valid_and_without_overlaps(installed, vintage, level):
    root, _ = installed
    raw = gpd.read_parquet(root / vintage / level / "raw.parquet")
    assert raw.crs.to_epsg() == 4326
    for detail in ("high", "low"):
        g = B.load_layer(vintage, level, detail=detail)
        assert len(g) == len(raw)
        assert g.is_valid.all() and not g.is_empty.any()
        assert set(g.geom_type) <= {"Polygon", "MultiPolygon"}
        overlap, total = B.overlap_area(g)
        # shared edges kept: overlaps between neighbours are rounding noise only
        assert overlap <= 1e-4 * total, (detail, overlap, total)
        # simplification does not move the outline much
        a_raw = shapely.area(np.asarray(raw.geometry.values)).sum()
        assert abs(total - a_raw) <= 0.005 * a_raw
        # coordinates on the grid: 5 decimals (high) or 4 (low)
        xy = shapely.get_coordinates(np.asarray(g.geometry.values))
        dec = 5 if detail == "high" else 4
        assert np.allclose(xy, np.round(xy, dec), atol=1e-9)


@needs_shared
def test_size_reduction(installed):
    _, reports = installed
    for name in ("provinces_2019.geojson", "districts_2019.geojson", "provinces_2025.geojson",
                 "communes_2025_82_dong_thap.geojson"):
        r = reports[name]
        assert r.bytes_web_low < 0.45 * r.bytes_raw, (name, r.bytes_raw, r.bytes_web_low)
        assert r.bytes_web_high < r.bytes_raw
        assert r.vertices_web_low < r.vertices_web_high <= r.vertices_raw
    # the pre-2025 commune fixtures were already thinned at source: only rounding helps
    for name in ("communes_87_dong_thap.geojson", "communes_89_an_giang.geojson"):
        r = reports[name]
        assert r.bytes_web_low < r.bytes_raw


@needs_shared
def test_load_layer_by_parent(installed):
    assert len(B.load_layer("2019", "commune", "87")) == 141
    assert len(B.load_layer("2019", "commune", "89")) == 155
    cao_lanh_city = B.load_layer("2019", "commune", "866")
    from geo import children
    assert set(cao_lanh_city.code) == set(children("866", "2019").code)
    assert len(B.load_layer("2019", "district", "87")) == 12
    assert len(B.load_layer("2025", "commune", "82", detail="high")) == 102
    assert len(B.load_layer("2019", "province")) == 63
    assert B.load_layer("2019", "commune", "01") is None  # Hà Nội communes not installed
    g = B.load_layer("2019", "district")
    assert {"code", "geometry", "province_code", "known"} <= set(g.columns)
    assert (~g.known).sum() == 11
    with pytest.raises(ValueError):
        B.load_layer("2019", "commune", detail="medium")


@needs_shared
def test_a_warm_load_reads_no_file(installed, monkeypatch):
    # how fast a warm load is, is bench/bench_geo.py's to say; here: it is served from the cache
    communes = B.load_layer("2019", "commune", "87")
    districts = B.load_layer("2019", "district")
    reads = []
    real = B._read_parquet_fast
    monkeypatch.setattr(B, "_read_parquet_fast", lambda path: reads.append(path) or real(path))
    for _ in range(3):
        assert B.load_layer("2019", "commune", "87") is communes
        assert B.load_layer("2019", "district") is districts
    assert reads == []


@needs_shared
def test_layer_geojson(installed):
    fc = B.layer_geojson("2019", "commune", "87")
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 141
    f = fc["features"][0]
    assert f["id"] == f["properties"]["code"]
    assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    text = json.dumps(fc)
    assert B.layer_geojson("2019", "commune", "87") is fc  # cached
    coords = np.array(shapely.get_coordinates(shapely.from_geojson(json.dumps(f["geometry"]))))
    assert np.allclose(coords, np.round(coords, 4))
    hi = B.layer_geojson("2019", "commune", "87", detail="high")
    assert len(json.dumps(hi)) > len(text) * 0.9


@needs_shared
def test_reinstall_replaces_only_its_province(installed):
    root, _ = installed
    r = B.install(SHARED / "communes_87_dong_thap.geojson", "2019", "commune")
    assert r.ok and r.layer_features == 509
    assert len(B.load_layer("2019", "commune", "89")) == 155


@needs_shared
def test_archipelago_warning(tmp_path):
    g = gpd.read_file(SHARED / "provinces_2019.geojson")
    g["geometry"] = g.geometry.intersection(box(100, 8.3, 110, 24))
    g = g[~g.is_empty]
    f = tmp_path / "mainland.gpkg"
    g.to_file(f)
    r = B.install(f, "2019", "province", dest=tmp_path / "d")
    assert r.ok
    text = " ".join(r.warnings)
    assert "Hoàng Sa" in text and "Trường Sa" in text
    full = B.install(SHARED / "provinces_2025.geojson", "2025", "province", dest=tmp_path / "d")
    assert not [w for w in full.warnings if "Sa (" in w]


# -- bad inputs --------------------------------------------------------------

def test_reprojected_file_is_brought_back_to_wgs84(small, tmp_path):
    f = tmp_path / "dt_vn2000.gpkg"
    small.to_crs(3405).to_file(f)
    r = B.install(f, "2019", "commune", dest=tmp_path / "d")
    assert r.ok, r.text()
    assert r.matched == 141
    assert "3405" in r.source_crs
    assert any("reprojected" in w for w in r.warnings)
    g = gpd.read_parquet(tmp_path / "d" / "2019" / "commune" / "raw.parquet")
    assert 104 < g.total_bounds[0] < g.total_bounds[2] < 107


def test_missing_crs_on_projected_coordinates_is_an_error(small, tmp_path):
    f = tmp_path / "nocrs.shp"
    small[["code", "name", "geometry"]].to_crs(3405).to_file(f)
    f.with_suffix(".prj").unlink()
    r = B.install(f, "2019", "commune", dest=tmp_path / "d")
    assert not r.ok
    assert "no CRS" in r.errors[0] and "EPSG:4326" in r.errors[0]
    assert not (tmp_path / "d" / "2019" / "commune").exists()


def test_missing_crs_on_lonlat_is_assumed_wgs84(small, tmp_path):
    f = tmp_path / "nocrs_ll.shp"
    small[["code", "name", "geometry"]].to_file(f)
    f.with_suffix(".prj").unlink()
    r = B.install(f, "2019", "commune", dest=tmp_path / "d")
    assert r.ok and any("no CRS" in w for w in r.warnings)


def test_mislabelled_crs_is_an_error(small, tmp_path):
    bad = small.to_crs(3405).set_crs(4326, allow_override=True)
    f = tmp_path / "mislabelled.gpkg"
    bad.to_file(f)
    r = B.install(f, "2019", "commune", dest=tmp_path / "d")
    assert not r.ok
    assert "not in Vietnam" in r.errors[0] and "mislabelled" in r.errors[0]
    assert "FAILED" in r.text()


def test_missing_code_column_matches_names_within_parents(small, tmp_path):
    f = tmp_path / "nocode.geojson"
    small.drop(columns=["code"]).to_file(f)
    r = B.install(f, "2019", "commune", dest=tmp_path / "d")
    assert r.ok, r.text()
    assert r.matched_by == "name" and r.matched == 141
    assert any("no code column" in w for w in r.warnings)
    assert any("district_code" in w for w in r.warnings)  # matched within districts


def test_unmatched_names_are_reported_not_guessed(small, tmp_path):
    g = small.drop(columns=["code"]).copy()
    g.loc[0, "name"] = "Xã Không Có Thật"
    g.loc[1, "name"] = "Phường 9"  # does not exist in that district
    f = tmp_path / "badnames.geojson"
    g.to_file(f)
    r = B.install(f, "2019", "commune", dest=tmp_path / "d")
    assert r.ok
    assert r.matched == 139
    assert len(r.unmatched_names) == 2
    assert any("Không Có Thật" in u for u in r.unmatched_names)
    assert len(r.missing_codes) == 2
    assert "unmatched names: 2" in r.text()


def test_no_code_and_no_name_column_is_an_error(small, tmp_path):
    f = tmp_path / "bare.geojson"
    small[["geometry"]].assign(foo="x").to_file(f)
    r = B.install(f, "2019", "commune", dest=tmp_path / "d")
    assert not r.ok and "no column holds commune codes" in r.errors[0]


def test_explicit_code_column_that_is_absent(small, tmp_path):
    f = tmp_path / "x.geojson"
    small.to_file(f)
    r = B.install(f, "2019", "commune", code_column="MA_XA", dest=tmp_path / "d")
    assert not r.ok and "MA_XA" in r.errors[0] and "code" in r.errors[0]


def test_unknown_codes_are_reported(small, tmp_path):
    g = small.copy()
    g.loc[:2, "code"] = ["99991", "99992", "99993"]
    f = tmp_path / "unknown.geojson"
    g.to_file(f)
    r = B.install(f, "2019", "commune", dest=tmp_path / "d")
    assert r.ok
    assert r.extra_codes == ["99991", "99992", "99993"]
    assert len(r.missing_codes) == 3 and r.matched == 138
    assert "extra (codes not in the registry): 3" in r.text()


def test_mostly_unknown_codes_fail(small, tmp_path):
    f = tmp_path / "wrong_vintage.geojson"
    small.to_file(f)
    r = B.install(f, "2025", "commune", dest=tmp_path / "d")
    assert not r.ok and "wrong vintage" in r.errors[0]


def test_invalid_geometry_is_repaired_and_codes_padded(small, tmp_path):
    g = small.copy()
    # a bow-tie inside the first commune's bounding box
    x0, y0, x1, y1 = g.geometry.iloc[0].bounds
    g.loc[g.index[0], "geometry"] = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    g["code"] = g["code"].astype(int)  # codes stored as numbers lose their zero padding
    f = tmp_path / "invalid.gpkg"
    g.to_file(f)
    r = B.install(f, "2019", "commune", dest=tmp_path / "d")
    assert r.ok and r.repaired == 1 and r.matched == 141
    out = gpd.read_parquet(tmp_path / "d" / "2019" / "commune" / "raw.parquet")
    assert out.is_valid.all()


def test_bad_arguments(tmp_path):
    assert "no districts" in B.install(tmp_path / "x.geojson", "2025", "district").errors[0]
    assert "not found" in B.install(tmp_path / "x.geojson", "2019", "district").errors[0]
    assert "vintage" in B.install(tmp_path / "x.geojson", "2020", "district").errors[0]


def test_cli_install_exit_codes(small, tmp_path, capsys):
    f = tmp_path / "ok.geojson"
    small.to_file(f)
    assert cli_main(["install", str(f), "--vintage", "2019", "--level", "commune",
                     "--dest", str(tmp_path / "d")]) == 0
    assert "OK: install" in capsys.readouterr().out
    assert cli_main(["install", str(f), "--vintage", "2025", "--level", "commune",
                     "--dest", str(tmp_path / "d")]) == 1
    assert "error:" in capsys.readouterr().out


def test_cli_search_units_layers(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SIPAS_GEO_DATA", str(tmp_path))
    assert cli_main(["search", "TP Hồng Ngự"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("868\t")
    assert cli_main(["units", "--vintage", "2019", "--parent", "87"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 12
    assert cli_main(["layers"]) == 0
    assert "no boundaries installed" in capsys.readouterr().out


def test_repeated_codes_are_dissolved(small, tmp_path):
    import pandas as pd

    first = small.iloc[[0]]
    x0, y0, x1, y1 = first.geometry.iloc[0].bounds
    xm = (x0 + x1) / 2
    halves = pd.concat([first.assign(geometry=first.geometry.intersection(box(x0, y0, xm, y1))),
                        first.assign(geometry=first.geometry.intersection(box(xm, y0, x1, y1)))])
    parts = gpd.GeoDataFrame(pd.concat([halves, small.iloc[1:]], ignore_index=True), crs=small.crs)
    assert len(parts) == 142
    f = tmp_path / "parts.gpkg"
    parts.to_file(f)
    r = B.install(f, "2019", "commune", dest=tmp_path / "d")
    assert r.ok and r.matched == 141 and r.layer_features == 141
    assert any("repeated codes" in w for w in r.warnings)


@needs_shared
def test_province_names_matched_despite_tone_placement(tmp_path):
    g = gpd.read_file(SHARED / "provinces_2025.geojson").drop(columns=["code"])
    assert "Tỉnh Thanh Hoá" in set(g.name)  # old-style tone placement in the source
    f = tmp_path / "names.geojson"
    g.to_file(f)
    r = B.install(f, "2025", "province", dest=tmp_path / "d")
    assert r.ok and r.matched_by == "name" and r.matched == 34 and not r.unmatched_names


def test_geo_never_imports_streamlit_and_imports_light():
    import subprocess
    import sys

    code = ("import sys, geo, geo.tiles; geo.units('2019'); "
            "assert 'streamlit' not in sys.modules; "
            "assert 'geopandas' not in sys.modules, 'registry should not need geopandas'; "
            "import geo.boundaries, geo.__main__; assert 'streamlit' not in sys.modules")
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


@needs_shared
def test_partial_province_file_merges_by_province(tmp_path):
    g = gpd.read_file(SHARED / "provinces_2019.geojson")
    d = tmp_path / "d"
    first = tmp_path / "north.geojson"
    g[g.code < "40"].to_file(first)
    r1 = B.install(first, "2019", "province", dest=d)
    assert r1.ok and len(r1.missing_codes) == (g.code >= "40").sum()  # the rest of the country
    second = tmp_path / "south.geojson"
    g[g.code >= "40"].to_file(second)
    r2 = B.install(second, "2019", "province", dest=d)
    assert r2.ok and r2.layer_features == 63


def test_killed_installs_leave_no_folders_behind(tmp_path):
    """A half-written layer folder of a killed install goes once it is old enough to be no running
    install's; a layer moved aside goes once its level is in place again; anything else stays."""
    vintage_dir = tmp_path / "2019"
    (vintage_dir / "province").mkdir(parents=True)
    (vintage_dir / "province" / "meta.json").write_text("{}", encoding="utf-8")
    old_tmp = vintage_dir / ".tmp-district-abc"
    young_tmp = vintage_dir / ".tmp-commune-def"
    moved_aside = vintage_dir / ".old-province-ghi"
    only_copy = vintage_dir / ".old-commune-jkl"
    stranger = vintage_dir / ".tmp-notalevel-xyz"
    for d in (old_tmp, young_tmp, moved_aside, only_copy, stranger):
        d.mkdir()
    an_hour_ago = time.time() - B.LEFTOVER_AGE - 5
    os.utime(old_tmp, (an_hour_ago, an_hour_ago))
    os.utime(stranger, (an_hour_ago, an_hour_ago))

    removed = B.remove_leftovers(vintage_dir)

    assert sorted(removed) == [".old-province-ghi", ".tmp-district-abc"]
    assert young_tmp.exists() and only_copy.exists() and stranger.exists()
    assert not old_tmp.exists() and not moved_aside.exists()


def test_listing_layers_clears_a_killed_install(tmp_path):
    """installed_layers (what the app and `geo layers` call) clears the leftovers too."""
    leftover = tmp_path / "2025" / ".tmp-commune-abc"
    leftover.mkdir(parents=True)
    long_ago = time.time() - B.LEFTOVER_AGE - 5
    os.utime(leftover, (long_ago, long_ago))
    assert B.installed_layers(tmp_path) == []
    assert not leftover.exists()
