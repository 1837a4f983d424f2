"""A third vintage added as data alone: the new wards of Đồng Nai from 30 April 2026 (NQ
237/NQ-UBTVQH16), in the made-up shape of tests/fixtures/vintage_2026/ (two wards merged, one
commune split, one ward renamed), through the calendar, the unit registry, the chained crosswalk,
the lineage, the view's year changes and the year before, with no code edited."""
import ast
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

import geo
from geo import RegistryDataError
from pages._common import change_params
from sipas_data import calendar
from ui import lineage, queries
from ui.state import COUNTRY, Offer, UnitRef, parse_view, to_params, vintage_of

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "vintage_2026"
CHANGES, CROSSWALK = "dong_nai_2026_units.csv", "dong_nai_2026.csv"
# the 2019 communes of old Thành phố Đồng Xoài that the official converter puts into the 2025
# wards Phường Bình Phước (25195) and Phường Đồng Xoài (25210)
DONG_XOAI_2019 = ["25195", "25198", "25201", "25204", "25205", "25207", "25210", "25213"]


def _calendar_text() -> str:
    shipped = calendar.DATA_FILE.read_text(encoding="utf-8")
    line = 'units = "vietnamadminunits:admin_units"\n'
    assert shipped.count(line) == 1
    return (shipped.replace(line, line + f'crosswalk_to_next = "{CROSSWALK}"\n') + "\n"
            + (FIXTURES / "vintage.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def two_vintages():
    """The shipped calendar's crosswalk and 2025 units, taken before the third vintage is added."""
    assert calendar.vintage_ids() == ("2019", "2025")
    return geo.crosswalk(), geo.units("2025")


def _install(monkeypatch, tmp_path, edit=None):
    """The shipped calendar plus the fixture's vintage, its files beside it (``edit``: name ->
    function changing a file's text)."""
    for name in (CHANGES, CROSSWALK):
        text = (FIXTURES / name).read_text(encoding="utf-8")
        if edit and name in edit:
            text = edit[name](text)
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "calendar.toml").write_text(_calendar_text(), encoding="utf-8")
    monkeypatch.setattr(calendar, "DATA_FILE", tmp_path / "calendar.toml")


@pytest.fixture()
def third(monkeypatch, tmp_path, two_vintages):
    _install(monkeypatch, tmp_path)
    assert calendar.vintage_ids() == ("2019", "2025", "2026")
    return two_vintages


# ---------------------------------------------------------------------------------------------
# the registry of the new vintage

def test_the_new_vintage_is_the_one_before_with_the_changes(third):
    old, new = geo.units("2025"), geo.units("2026")
    assert new["level"].value_counts().to_dict() == {"commune": 3321, "province": 34}  # -2 +2 communes
    assert geo.unit("25195", "2026") is None and geo.unit("25210", "2026") is None
    merged = geo.unit("25196", "2026")
    assert (merged["name"], merged["type"], merged["short_name"], merged["search_key"]) == (
        "Phường Tân Đồng Xoài", "Phường", "Tân Đồng Xoài", "phuong tan dong xoai")
    assert (merged["parent_code"], merged["province_code"], merged["district_code"]) == ("75", "75", None)
    assert merged["area_km2"] == pytest.approx(167.7)
    assert geo.registry.label("25196", "2026") == "Phường Tân Đồng Xoài, Tỉnh Đồng Nai"
    # the split commune keeps its code and what it did not give away; the renamed ward its point
    assert geo.unit("25222", "2026")["area_km2"] == 200.0 and geo.unit("25222", "2025")["area_km2"] == 342.5
    assert geo.unit("25223", "2026")["name"] == "Xã Đăk Mai"
    renamed, before = geo.unit("25217", "2026"), geo.unit("25217", "2025")
    assert (renamed["name"], before["name"]) == ("Phường Thác Mơ", "Phường Phước Long")
    assert (renamed["lat"], renamed["lon"], renamed["area_km2"]) == (before["lat"], before["lon"], before["area_km2"])
    # a province's area is its communes' sum: the merge and the split moved none out of Đồng Nai
    kids = geo.children("75", "2026")
    assert {"25196", "25223"} <= set(kids["code"]) and not {"25195", "25210"} & set(kids["code"])
    assert len(kids) == len(geo.children("75", "2025"))
    assert geo.unit("75", "2026")["area_km2"] == pytest.approx(kids["area_km2"].sum())
    assert geo.unit("75", "2026")["area_km2"] == pytest.approx(geo.unit("75", "2025")["area_km2"])
    # every other unit is the 2025 one, and the 2025 vintage is unchanged
    touched = {"25195", "25210", "25196", "25222", "25223", "25217", "75"}
    pd.testing.assert_frame_equal(new[~new["code"].isin(touched)].reset_index(drop=True),
                                  old[~old["code"].isin(touched)].reset_index(drop=True))
    assert old is third[1]


def test_search_finds_the_new_wards(third):
    assert geo.search("Tân Đồng Xoài", "2026")["code"].iloc[0] == "25196"
    assert geo.search("dak mai", "2026")["code"].tolist() == ["25223"]
    assert geo.search("P. Thác Mơ", "2026")["code"].iloc[0] == "25217"
    assert geo.search("Tân Đồng Xoài", "2025").empty          # not a unit of 2025
    hit = geo.search("tan dong xoay", "2026", fuzzy=True)      # a typo
    assert hit["code"].iloc[0] == "25196" and bool(hit["fuzzy"].iloc[0])


def test_the_year_and_the_view_know_the_vintage(third):
    assert geo.vintage_for_year(2026) == vintage_of(2026) == "2026"
    assert geo.levels_for_year(2026) == ("province", "commune")
    assert geo.VINTAGES == ("2019", "2025")  # the import-time tuple; the registry asks the calendar
    with pytest.raises(ValueError, match="2027"):
        geo.units("2027")


# ---------------------------------------------------------------------------------------------
# crosswalks, one step and chained

def test_one_step_crosswalk_from_the_file(third):
    cw = geo.crosswalk("2025", "2026")
    communes = geo.units("2025").query("level == 'commune'")
    assert cw["old_commune_code"].tolist() == communes["code"].tolist()   # one row per 2025 commune
    moved = cw[cw["old_commune_code"] != cw["new_commune_code"]]
    assert dict(zip(moved["old_commune_code"], moved["new_commune_code"])) == {"25195": "25196", "25210": "25196"}
    assert cw.loc[cw["divided"], "old_commune_code"].tolist() == ["25222"]
    assert cw["old_district_code"].isna().all() and (cw["new_province_code"] == cw["old_province_code"]).all()
    assert geo.split_communes("2025") == {"25222": ["25222", "25223"]}   # the default first


def test_the_chained_crosswalk_carries_a_2019_commune_to_its_2026_ward(third):
    shipped = third[0]
    step = geo.crosswalk("2019", "2025")
    pd.testing.assert_frame_equal(step, shipped)                 # the 2019 -> 2025 step is unchanged
    chained = geo.crosswalk()
    assert chained.equals(geo.crosswalk("2019", "2026")) and list(chained.columns) == list(shipped.columns)
    row = chained.set_index("old_commune_code").loc["25198"]     # Phường Tân Đồng, Thành phố Đồng Xoài
    assert (row["new_commune_code"], row["new_province_code"], row["old_province_code"]) == ("25196", "75", "70")
    assert sorted(chained.loc[chained["new_commune_code"] == "25196", "old_commune_code"]) == DONG_XOAI_2019
    assert bool(chained.set_index("old_commune_code").loc["25222", "divided"])   # split in 2026
    # everything else goes where the 2019 -> 2025 step sent it
    elsewhere = ~step["new_commune_code"].isin(["25195", "25210", "25222"])
    pd.testing.assert_frame_equal(chained[elsewhere], step[elsewhere])
    with pytest.raises(ValueError, match="later"):
        geo.crosswalk("2026", "2025")
    with pytest.raises(ValueError, match="latest"):
        geo.split_communes("2026")


def test_the_shipped_calendar_keeps_its_crosswalk(two_vintages):
    assert geo.crosswalk() is two_vintages[0] and geo.crosswalk("2019", "2025") is two_vintages[0]


# ---------------------------------------------------------------------------------------------
# a wrong file is refused with where and what

def _swap(old, new):
    return lambda text: text.replace(old, new)


@pytest.mark.parametrize("edit,message", [
    ({CROSSWALK: _swap("25195,25196,\n", "")}, r"commune 25195 \(Phường Bình Phước\) of vintage 2025 .*expected a row"),
    ({CROSSWALK: _swap("25222,25222,1", "25222,25222,")}, r"commune 25222 .* expected default = 1"),
    ({CROSSWALK: _swap("25210,25196", "25210,25195")}, r"dong_nai_2026.csv: line 3, column new_code: '25195'; "
                                                       r"expected the code of a commune of vintage 2026"),
    ({CROSSWALK: _swap("25222,25223,0", "25222,25223,yes")}, r"line 5, column default"),
    ({CROSSWALK: _swap("old_code,new_code", "old,new_code")}, r"line 1: expected the header"),
    ({CHANGES: _swap("add,25223", "add,25222")}, r"line 6, column code: '25222'; expected each unit once"),
    ({CHANGES: _swap("add,25223", "add,25225")}, r"line 6, column code: '25225'; expected a code the vintage "
                                                 r"before does not have"),
    ({CHANGES: _swap("Xã Đăk Mai,75", "Xã Đăk Mai,25195")}, r"line 6, column parent_code: '25195' \(removed\)"),
    ({CHANGES: _swap("12.09,107.21", "12,09,107.21")}, r"line 6"),
    ({CHANGES: _swap("add,25196,commune", "move,25196,commune")}, r"line 4, column change: 'move'; expected add"),
    ({CHANGES: _swap("200.0", "two hundred")}, r"line 5, column area_km2: 'two hundred'; expected a number"),
    ({CHANGES: _swap("remove,25210", "remove,75")}, r"expected the code of the province"),
])
def test_a_wrong_data_file_is_refused(monkeypatch, tmp_path, two_vintages, edit, message):
    _install(monkeypatch, tmp_path, edit)
    with pytest.raises(RegistryDataError, match=message):
        geo.units("2026"), geo.crosswalk()


def test_a_missing_file_is_named(monkeypatch, tmp_path, two_vintages):
    _install(monkeypatch, tmp_path)
    (tmp_path / CHANGES).unlink()
    with pytest.raises(RegistryDataError, match=f"'2026': changes file '{CHANGES}' not found"):
        geo.units("2026")
    assert len(geo.units("2025")) == len(two_vintages[1])   # the other vintages still load


def test_the_files_may_live_in_geo_data(monkeypatch, tmp_path, two_vintages):
    """A shipped vintage's files go in geo/data/: found there when not beside the calendar."""
    data, calendar_dir = tmp_path / "geo_data", tmp_path / "calendar"
    data.mkdir()
    calendar_dir.mkdir()
    for name in (CHANGES, CROSSWALK):
        shutil.copy(FIXTURES / name, data / name)
    (calendar_dir / "calendar.toml").write_text(_calendar_text(), encoding="utf-8")
    monkeypatch.setattr(calendar, "DATA_FILE", calendar_dir / "calendar.toml")
    monkeypatch.setattr(geo.registry, "DATA_DIR", data)
    assert geo.unit("25196", "2026")["name"] == "Phường Tân Đồng Xoài"
    assert geo.crosswalk("2025", "2026").set_index("old_commune_code").loc["25210", "new_commune_code"] == "25196"


# ---------------------------------------------------------------------------------------------
# lineage across both reforms

def test_lineage_of_the_new_wards(third):
    assert lineage.has_crosswalk("2025") and not lineage.has_crosswalk("2026")
    assert lineage.predecessors("25196", "2026") == ["25195", "25210"]
    assert lineage.successors("25195", "2025") == lineage.successors("25210", "2025") == ["25196"]
    assert lineage.is_split("25222", "2025") and lineage.successors("25222", "2025") == ["25222", "25223"]
    assert lineage.predecessors("25223", "2026") == ["25222"]
    # the restated series counts a split commune once, in its default
    assert lineage.restated_from("25222", "2026") == ["25222"] and lineage.restated_from("25223", "2026") == []
    assert lineage.restated_from("25196", "2026") == ["25195", "25210"]
    assert lineage.restated_from("75", "2026") == ["75"]
    assert lineage.successors("25267", "2025") == ["25267"]     # unchanged: itself
    assert lineage.reform_date("2026") == "30/4/2026"
    # the 2019 -> 2025 step is what it was
    assert lineage.predecessors("29955", "2025") == ["29955", "29959", "29965"]
    assert lineage.successors("29902", "2019") == ["29905", "29869"]


def test_lineage_chains_both_reforms(third):
    assert lineage.reach("25198", "2019", "2026") == ["25196"]
    assert lineage.reach("25222", "2019", "2026") == ["25222", "25223"]
    assert lineage.reach("689", "2019", "2026") == ["75"]          # a district: its province
    assert lineage.reach("70", "2019", "2026") == ["75"]
    assert lineage.origins("25196", "2026", "2019") == DONG_XOAI_2019
    assert lineage.origins("25196", "2026", "2025") == ["25195", "25210"]
    assert lineage.origins("75", "2026", "2019") == ["70", "75"]   # old Bình Phước and old Đồng Nai


# ---------------------------------------------------------------------------------------------
# the view carried across the reforms (pages/_common.change_params, unedited)

def _offer() -> Offer:
    """Old Bình Phước and Đồng Nai in 2024, the new Đồng Nai in 2025 and 2026, every unit with data."""
    years = [2024, 2025, 2026]
    units = {}
    for year in years:
        reg = geo.units(vintage_of(year))
        reg = reg[reg["province_code"].isin(["70", "75"] if year == 2024 else ["75"])]
        refs = {COUNTRY: UnitRef(COUNTRY, "country", None, "Toàn quốc")}
        for r in reg.itertuples(index=False):
            refs[r.code] = UnitRef(r.code, r.level, COUNTRY if r.parent_code == "VN" else r.parent_code, r.name,
                                   r.province_code)
        units[year] = refs
    levels = {2024: ["province", "district", "commune"], 2025: ["province", "commune"], 2026: ["province", "commune"]}
    return Offer(release_ids=["r"], release="r", years=years, units=units, levels=levels,
                 services={y: ["all"] for y in years}, indicators={y: ["sipas"] for y in years})


def _switch(offer, params, year):
    state, notices = parse_view(params, offer)
    assert notices == []
    return parse_view(change_params(state, offer, year=year, level=state.level), offer)


def test_a_2025_ward_goes_to_the_2026_ward_it_joined(third):
    offer = _offer()
    state, notices = _switch(offer, {"year": "2025", "unit": "25195"}, 2026)
    assert (state.year, state.vintage, state.unit, state.origin) == (2026, "2026", "25196", "2025:25195")
    assert len(notices) == 1
    for text in ("Phường Bình Phước", "Phường Tân Đồng Xoài", "30/4/2026", "2025"):
        assert text in notices[0]
    assert parse_view(to_params(state), offer)[0] == state


def test_a_2024_commune_is_carried_through_both_reforms(third):
    offer = _offer()
    state, notices = _switch(offer, {"year": "2024", "unit": "25198"}, 2026)
    assert (state.unit, state.origin) == ("25196", "2019:25198")
    assert "Phường Tân Đồng" in notices[0] and "Phường Tân Đồng Xoài" in notices[0]
    state, notices = _switch(offer, {"year": "2024", "unit": "70"}, 2026)
    assert state.unit == "75" and "Tỉnh Bình Phước" in notices[0] and "Tỉnh Đồng Nai" in notices[0]


def test_a_split_commune_offers_its_2026_parts(third):
    state, notices = _switch(_offer(), {"year": "2025", "unit": "25222"}, 2026)
    assert state.unit == "25222"                                  # the official default
    assert "Xã Đăk Mai" in notices[0] and "Xã Bù Gia Mập" in notices[0]


def test_a_2026_ward_going_back_names_what_it_was_formed_from(third):
    offer = _offer()
    state, notices = _switch(offer, {"year": "2026", "unit": "25196"}, 2025)
    assert state.unit == "75"                                     # the two wards' province
    assert "Phường Bình Phước" in notices[0] and "Phường Đồng Xoài" in notices[0] and "30/4/2026" in notices[0]
    state, notices = _switch(offer, {"year": "2026", "unit": "25196"}, 2024)
    assert state.unit == "689"                                    # their 2019 town, Thành phố Đồng Xoài
    assert "Phường Tân Đồng" in notices[0] and "Phường Tiến Thành" in notices[0]


def test_a_renamed_ward_is_the_same_place(third):
    state, notices = _switch(_offer(), {"year": "2025", "unit": "25217"}, 2026)
    assert state.unit == "25217" and "Phường Phước Long" in notices[0] and "Phường Thác Mơ" in notices[0]


# ---------------------------------------------------------------------------------------------
# the year before a 2026 view: restated on the 2026 units, and what it covers

def _reader(rows):
    frame = pd.DataFrame(rows, columns=["year", "level", "unit_code", "parent_code", "value", "n", "basis"]).assign(
        service="all", indicator="sipas", source="computed", suppressed=False, rank=math.nan)

    def read(*, year=None, level=None, parent=None, unit=None, service="all", indicator="sipas", source=None,
             restated=False):
        d = frame
        for col, v in (("year", year), ("level", level), ("parent_code", parent), ("unit_code", unit)):
            if v is not None:
                d = d[d[col].isin(v if isinstance(v, list) else [v])]
        if restated is not None:
            d = d[(d["basis"] == "restated") == restated]
        return d.reset_index(drop=True)
    return read


def test_the_year_before_a_2026_ward_is_its_restated_2025(third):
    rows = [(2026, "commune", "25196", "75", 82.0, 120, "pooled"),
            (2025, "commune", "25196", "75", 78.0, 110, "restated"),
            (2025, "commune", "25195", "75", 77.0, 60, "pooled"),
            (2025, "commune", "25210", "75", 79.0, 50, "pooled")]
    p = queries.previous(_reader(rows), [2025, 2026], year=2026, unit="25196", service="all", indicator="sipas")
    assert p.restated and p.covered == (("25195", 60), ("25210", 50)) and p.missing == ()
    assert p.covered_now == ("25195", "25210") and p.same_area and p.value == 78.0
    # one of the two wards without results in 2025: the change is not computed
    p = queries.previous(_reader([r for r in rows if r[2] != "25210"]), [2025, 2026], year=2026, unit="25196",
                         service="all", indicator="sipas")
    assert p.covered == (("25195", 60),) and p.missing == ("25210",) and not p.same_area and p.value is None
    # 2024 -> 2025 is no longer restated: the release's restated series is on the 2026 units
    p = queries.previous(_reader(rows), [2024, 2025], year=2025, unit="25195", service="all", indicator="sipas")
    assert p.year == 2024 and not p.restated and not p.comparison.comparable


def test_history_of_a_2026_ward_has_its_restated_years(third):
    rows = [(2024, "commune", "25196", "75", 75.0, 90, "restated"), (2025, "commune", "25196", "75", 78.0, 110,
            "restated"), (2026, "commune", "25196", "75", 82.0, 120, "pooled"),
            (2025, "commune", "25195", "75", 77.0, 60, "pooled")]
    read = _reader(rows)
    h = queries.history(read, vintage="2026", unit="25196", service="all", indicator="sipas")
    assert list(zip(h["year"], h["basis"])) == [(2024, "restated"), (2025, "restated"), (2026, "pooled")]
    h = queries.history(read, vintage="2025", unit="25195", service="all", indicator="sipas")
    assert list(h["year"]) == [2025]


# ---------------------------------------------------------------------------------------------
# nothing in the pages names a vintage

def test_the_pages_name_no_vintage_or_reform_year():
    """The pages ask the calendar; a vintage id or reform year written in them would need an edit
    for the next reform (text keys such as 'break_2025' are strings of ui/strings.py)."""
    found = []
    years = {int(v) for v in calendar.vintage_ids()} | set(calendar.reforms())
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and not isinstance(node.value, bool) and (
                    node.value in years or node.value in {str(y) for y in years}):
                found.append(f"{path.name}:{node.lineno}: {node.value!r}")
    assert found == []


# ---------------------------------------------------------------------------------------------
# the release build's restated series: each vintage's years through its own chain of crosswalks

def test_the_build_restates_each_vintages_years_through_its_own_crosswalk(third):
    from sipas_data.build import restatement_on_latest_units
    r = restatement_on_latest_units()
    assert r.before_year == 2026
    communes = r.communes.assign(from_year=r.communes.get("from_year", 0),
                                 to_year=r.communes.get("to_year", r.before_year))

    def to(code, year):
        rows = communes[(communes["old_commune_code"] == code) & (communes["from_year"] <= year)
                        & (communes["to_year"] > year)]
        return rows["new_commune_code"].tolist()
    assert to("25198", 2024) == ["25196"]    # a 2019 commune, through both reforms
    assert to("25210", 2025) == ["25196"]    # a 2025 ward, through the 2026 reform
    assert to("25222", 2024) == ["25222"] and to("25222", 2025) == ["25222"]
    # a code the 2025 reform reused: the 2019 commune 25280 joined 25294, the 2025 ward 25280 stays
    assert geo.unit("25280", "2026") is not None
    assert to("25280", 2024) == ["25294"] and to("25280", 2025) == ["25280"]
