"""Faults while the app runs: a release folder deleted, truncated or damaged keeps being served from
the last verified copy (with a notice); a release that never verified is not served; half-written
folders are never listed; missing boundaries fall back to the tile map."""
import json
import shutil
from pathlib import Path

import pytest
from apptest import open_page

from sipas_data.release import list_releases
from serving.keeper import ReleaseKeeper

DEMO = "demo-dong-thap"


def copy_release(src_root: Path, dst_root: Path, new_id: str, created: str | None = None) -> Path:
    dst = dst_root / new_id
    shutil.copytree(src_root / DEMO, dst)
    m = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    m["id"] = new_id
    if created:
        m["created"] = created
    (dst / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    return dst


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def flip_bytes(path: Path) -> None:
    """Same size, different content (a bad checksum that a size check would not see)."""
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 64] = bytes(64)
    path.write_bytes(bytes(data))


# ---------------------------------------------------------------------------------------------
# the keeper alone (no Streamlit)

@pytest.mark.parametrize("damage", ["delete", "truncate", "checksum", "manifest"])
def test_keeper_serves_the_last_good_copy(demo_release_root, tmp_path, damage):
    root = tmp_path / "releases"
    root.mkdir()
    folder = copy_release(demo_release_root, root, "r1")
    keeper = ReleaseKeeper(root, tmp_path / "cache")
    rel, problem = keeper.get("r1")
    assert problem is None
    before = rel.read(year=2024, level="district")
    if damage == "delete":
        shutil.rmtree(folder)
    elif damage == "truncate":
        truncate(folder / "indices.parquet")
    elif damage == "checksum":
        flip_bytes(folder / "indices.parquet")
    else:
        (folder / "manifest.json").write_text("{", encoding="utf-8")
    rel2, problem = keeper.get("r1")
    assert problem, "the viewer must be told"
    assert rel2 is rel
    assert rel2.read(year=2024, level="district").equals(before)  # reads come from the private copy
    # the failure is remembered: no second full verification for the same damaged state
    assert keeper.get("r1")[1] == problem


def test_keeper_takes_a_good_replacement_and_refuses_a_never_good_release(demo_release_root, tmp_path):
    root = tmp_path / "releases"
    root.mkdir()
    folder = copy_release(demo_release_root, root, "r1")
    keeper = ReleaseKeeper(root, tmp_path / "cache")
    rel, _ = keeper.get("r1")
    # a proper re-publication (new files, same id) is picked up without a notice
    shutil.rmtree(folder)
    copy_release(demo_release_root, root, "r1", created="2099-01-01T00:00:00+00:00")
    rel2, problem = keeper.get("r1")
    assert problem is None and rel2 is not rel and rel2.created.startswith("2099")
    # a release damaged before this process ever verified it is not served at all
    bad = copy_release(demo_release_root, root, "r2")
    truncate(bad / "indices.parquet")
    with pytest.raises(Exception, match="checksum|does not match"):
        keeper.get("r2")
    with pytest.raises(Exception, match="not a release id"):
        keeper.get("../r1")


def test_half_written_releases_are_never_listed(demo_release_root, tmp_path):
    root = tmp_path / "releases"
    root.mkdir()
    copy_release(demo_release_root, root, "good")
    shutil.copytree(demo_release_root / DEMO, root / f".tmp-{DEMO}-abc")          # being written
    no_manifest = copy_release(demo_release_root, root, "no-manifest")
    (no_manifest / "manifest.json").unlink()
    missing_file = copy_release(demo_release_root, root, "missing-file")
    (missing_file / "indices.parquet").unlink()
    assert [r.id for r in list_releases(root)] == ["good"]


# ---------------------------------------------------------------------------------------------
# what a viewer sees (AppTest; the keeper lives in st.cache_resource, shared by AppTest runs)

def _run(root: Path, monkeypatch, page="pages/overview.py", **params):
    monkeypatch.setenv("SIPAS_RELEASES", str(root))
    at = open_page(page, **params)
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("damage", ["delete", "truncate", "checksum"])
def test_viewer_keeps_seeing_the_last_good_release(demo_release_root, tmp_path, monkeypatch, damage):
    root = tmp_path / f"live-{damage}"
    root.mkdir()
    folder = copy_release(demo_release_root, root, "live")
    at = _run(root, monkeypatch, year="2024", unit="868")
    head = {m.label: m.value for m in at.metric}["Chỉ số SIPAS"]
    assert not at.warning or all("live" not in w.value for w in at.warning)
    if damage == "delete":
        shutil.rmtree(folder)
    elif damage == "truncate":
        truncate(folder / "indices.parquet")
    else:
        flip_bytes(folder / "indices.parquet")
    for page in ("pages/overview.py", "pages/map.py", "pages/methodology.py"):
        at = _run(root, monkeypatch, page, year="2024", unit="868", release="live")
        assert not at.error, [e.value for e in at.error]
        assert at.subheader, "the page still has its header"
        assert any("live" in w.value and "bản sao đã kiểm tra" in w.value for w in at.warning), \
            [w.value for w in at.warning]
    at = _run(root, monkeypatch, year="2024", unit="868", release="live")
    assert {m.label: m.value for m in at.metric}["Chỉ số SIPAS"] == head


def test_a_release_damaged_before_start_falls_back_to_the_newest_readable(demo_release_root, tmp_path, monkeypatch):
    root = tmp_path / "fresh"
    root.mkdir()
    copy_release(demo_release_root, root, "older", created="2020-01-01T00:00:00+00:00")
    newest = copy_release(demo_release_root, root, "newest", created="2030-01-01T00:00:00+00:00")
    flip_bytes(newest / "indices.parquet")
    at = _run(root, monkeypatch, year="2024")
    assert not at.error, [e.value for e in at.error]
    assert at.query_params["release"] == "older"
    assert any("newest" in w.value for w in at.warning)


def test_missing_boundaries_fall_back_to_the_tile_map(demo_env, tmp_path, monkeypatch):
    monkeypatch.setenv("SIPAS_GEO_DATA", str(tmp_path / "no-geo"))
    at = _run(demo_env, monkeypatch, "pages/map.py", year="2024", unit="87", map="boundaries")
    assert not at.error
    assert at.query_params["map"] == "tiles"
    assert at.info, "the viewer is told that boundaries are not installed"
    assert len(at.dataframe) >= 1, "the table twin is still there"


def test_damaged_boundary_files_fall_back_to_the_tile_map(demo_env, tmp_path, monkeypatch):
    geo = tmp_path / "broken-geo" / "2019" / "district"
    geo.mkdir(parents=True)
    (geo / "meta.json").write_text('{"provinces": ["87"], "features": 12}', encoding="utf-8")
    (geo / "low.parquet").write_bytes(b"not a parquet file")
    monkeypatch.setenv("SIPAS_GEO_DATA", str(tmp_path / "broken-geo"))
    at = _run(demo_env, monkeypatch, "pages/map.py", year="2024", unit="87", level="district", map="boundaries")
    assert not at.error, [e.value for e in at.error]
    assert at.query_params["map"] == "boundaries"  # installed, but unreadable: drawn as tiles with a notice
    assert any(i.value for i in at.info)
    assert len(at.dataframe) >= 1


def test_only_a_damaged_release_says_it_cannot_be_read_not_that_none_is_installed(demo_release_root, tmp_path,
                                                                                 monkeypatch):
    root = tmp_path / "only-damaged"
    root.mkdir()
    flip_bytes(copy_release(demo_release_root, root, "broken") / "indices.parquet")
    at = _run(root, monkeypatch, year="2024")
    assert [e.value for e in at.error] == ["Không đọc được bản phát hành dữ liệu nào: tệp bị hỏng hoặc chưa đầy đủ. "
                                           "Đơn vị quản trị trang cần kiểm tra lại."]
