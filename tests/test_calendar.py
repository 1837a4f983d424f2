"""sipas_data.calendar: vintages, schemes and comparability as data, and a third vintage added
through the data file alone (the new wards of Đồng Nai from 30 April 2026, NQ 237/NQ-UBTVQH16)."""
import importlib
import shutil
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pytest

import geo
import pages._common
from geo.registry import VINTAGES, levels_for_year
from sipas_data import calendar
from sipas_data.build import UsedUnits
from sipas_data.scheme import scheme_for_year as methodology_scheme
from ui import press
from ui.state import COUNTRY, Offer, UnitRef, parse_view, vintage_of

YEARS = range(2015, 2032)

SHIPPED = calendar.DATA_FILE.read_text(encoding="utf-8")
# the third vintage's units and crosswalk (tests/fixtures/vintage_2026/README.md)
FIXTURES = Path(__file__).parent / "fixtures" / "vintage_2026"

# The shipped calendar plus one vintage: only data, no code.
WITH_2026 = SHIPPED.replace("first_year = 2025\nhas_districts = false\n",
                            'first_year = 2025\nhas_districts = false\ncrosswalk_to_next = "dong_nai_2026.csv"\n') + """
[[vintage]]
id = "2026"
# the new wards of Đồng Nai (NQ 237/NQ-UBTVQH16)
start = 2026-04-30
first_year = 2026
has_districts = false
changes = "dong_nai_2026_units.csv"
"""


def _use(monkeypatch, tmp_path, text: str, name: str = "calendar.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(calendar, "DATA_FILE", path)
    return path


@pytest.fixture()
def third_vintage(monkeypatch, tmp_path):
    """The calendar with a "2026" vintage registered through its data file, its units' changes
    and crosswalk beside it."""
    assert "crosswalk_to_next = \"dong_nai_2026.csv\"" in WITH_2026  # the replace above matched
    for name in ("dong_nai_2026_units.csv", "dong_nai_2026.csv"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    _use(monkeypatch, tmp_path, WITH_2026)
    assert calendar.vintage_ids() == ("2019", "2025", "2026")


# ---------------------------------------------------------------------------------------------
# the shipped calendar

@pytest.mark.parametrize("year,vintage", [(2010, "2019"), (2017, "2019"), (2024, "2019"), (2025, "2025"),
                                          (2031, "2025")])
def test_vintage_of_each_year(year, vintage):
    assert calendar.vintage_for_year(year) == vintage


def test_vintages_hold_their_levels_start_and_crosswalk():
    old, new = calendar.vintages()
    assert (old.id, old.first_year, old.has_districts) == ("2019", None, True)
    assert old.levels == ("province", "district", "commune")
    assert old.crosswalk_to_next == "converter_2025.json"
    assert (new.id, new.first_year, str(new.start), new.has_districts) == ("2025", 2025, "2025-07-01", False)
    assert new.levels == ("province", "commune") and new.crosswalk_to_next is None
    assert (old.units, new.units, old.changes, new.changes) == (
        "vietnamadminunits:admin_units_legacy", "vietnamadminunits:admin_units", None, None)
    assert calendar.vintage_after("2019") == "2025" and calendar.vintage_after("2025") is None
    assert calendar.vintage_before("2025") == "2019" and calendar.vintage_before("2019") is None
    assert calendar.latest() is new
    assert calendar.levels_for_year(2024) == old.levels and calendar.levels_for_year(2025) == new.levels
    assert calendar.reforms() == (2025,)
    assert calendar.restated_before() == 2025
    assert calendar.districts_abolished() == 2025
    with pytest.raises(calendar.CalendarError):
        calendar.vintage("2030")


def test_scheme_of_each_year():
    for year in YEARS:
        expected = "sipas-2017" if year < 2022 else "sipas-2022"
        assert calendar.scheme_for_year(year) == expected, year
        if year >= 2017:  # the years are the schemes' own, not a second copy
            assert calendar.scheme_for_year(year) == methodology_scheme(year).id


def test_the_data_file_holds_no_scheme_years():
    data = tomllib.loads(SHIPPED)
    assert set(data) == {"vintage"}
    assert all(set(v) <= {"id", "start", "first_year", "has_districts", "crosswalk_to_next", "units", "changes"}
               for v in data["vintage"])


def test_breaks_between_years_are_the_old_rules():
    for a in YEARS:
        for b in YEARS:
            lo, hi = min(a, b), max(a, b)
            assert calendar.method_break_between(a, b) == (lo <= 2021 and hi >= 2022), (a, b)
            assert calendar.reform_between(a, b) == (lo <= 2024 and hi >= 2025), (a, b)


@pytest.mark.parametrize("earlier,later,same_scheme,same_units,restated,comparable", [
    (2018, 2021, True, True, False, True),
    (2022, 2024, True, True, False, True),
    (2021, 2022, False, True, False, False),    # the method changed
    (2024, 2025, True, False, True, True),      # restated on the 2025 units
    (2022, 2026, True, False, True, True),
    (2020, 2025, False, False, True, False),    # restated, but another method
    (2025, 2026, True, True, False, True),
    (2025, 2024, True, False, False, False),    # the restated series is on the later year's units
])
def test_which_pairs_compare(earlier, later, same_scheme, same_units, restated, comparable):
    c = calendar.comparison(earlier, later)
    assert (c.same_scheme, c.same_units, c.restated, c.comparable) == (same_scheme, same_units, restated, comparable)
    assert calendar.restated(earlier, later) == restated


def test_the_restated_rule_is_the_old_one():
    for year in YEARS:
        assert calendar.restated(year - 1, year) == (year >= 2025 > year - 1)


def test_geo_and_the_view_ask_the_calendar():
    assert VINTAGES == calendar.vintage_ids()
    for year in YEARS:
        assert geo.vintage_for_year(year) == vintage_of(year) == calendar.vintage_for_year(year)
        assert levels_for_year(year) == calendar.levels_for_year(year)


# ---------------------------------------------------------------------------------------------
# what the data file must say

@pytest.mark.parametrize("change,message", [
    (lambda s: s.replace('crosswalk_to_next = "converter_2025.json"\n', ""), "crosswalk_to_next"),
    (lambda s: s.replace("first_year = 2025\n", ""), "first_year"),
    (lambda s: s.replace("start = 2025-07-01", "start = 2026-07-01"), "cannot use units"),
    (lambda s: s.replace("has_districts = false", ""), "has_districts"),
    (lambda s: s.replace('id = "2025"', 'id = "2019"'), "twice"),
    (lambda s: s + '\n[[vintage]]\nid = "2024"\nfirst_year = 2024\nhas_districts = false\n', "no later"),
    (lambda s: s + 'crosswalk_to_next = "x.csv"\n', "not listed"),
    (lambda s: s.replace('units = "vietnamadminunits:admin_units"\n', ""), "needs its units"),
    (lambda s: s + 'changes = "x.csv"\n', "not both"),
    (lambda s: s.replace('units = "vietnamadminunits:admin_units_legacy"', 'changes = "x.csv"'), "earliest"),
])
def test_an_inconsistent_calendar_is_refused(monkeypatch, tmp_path, change, message):
    _use(monkeypatch, tmp_path, change(SHIPPED))
    with pytest.raises(calendar.CalendarError, match=message):
        calendar.vintages()


def test_a_new_vintage_needs_a_crosswalk_from_the_one_before(monkeypatch, tmp_path):
    _use(monkeypatch, tmp_path, WITH_2026.replace('crosswalk_to_next = "dong_nai_2026.csv"\n', ""))
    with pytest.raises(calendar.CalendarError, match="'2025' needs a crosswalk_to_next"):
        calendar.vintage_for_year(2026)


# ---------------------------------------------------------------------------------------------
# a third vintage, added as data

def test_third_vintage_lookup(third_vintage):
    assert [calendar.vintage_for_year(y) for y in (2024, 2025, 2026, 2030)] == ["2019", "2025", "2026", "2026"]
    assert geo.vintage_for_year(2026) == vintage_of(2026) == "2026"
    assert geo.levels_for_year(2026) == ("province", "commune")
    assert str(calendar.vintage("2026").start) == "2026-04-30"
    assert calendar.reforms() == (2025, 2026)
    assert calendar.restated_before() == 2026       # the restated series moves to the 2026 units
    assert calendar.districts_abolished() == 2025   # the import's messages keep their year
    assert calendar.scheme_for_year(2026) == "sipas-2022"


def test_third_vintage_comparability(third_vintage):
    c = calendar.comparison(2025, 2026)
    assert c.same_scheme and not c.same_units and c.restated and c.comparable
    assert calendar.comparison(2024, 2026).restated              # on the latest units
    c = calendar.comparison(2024, 2025)                          # no restated series on 2025 units now
    assert not c.same_units and not c.restated and not c.comparable
    assert calendar.comparison(2026, 2027).same_units
    assert calendar.reform_between(2025, 2026) and not calendar.reform_between(2026, 2030)
    assert not calendar.method_break_between(2025, 2026)


def _offer(years, boundaries):
    units = {y: {COUNTRY: UnitRef(COUNTRY, "country", None, "Toàn quốc"),
                 "75": UnitRef("75", "province", COUNTRY, "Tỉnh Đồng Nai", "75"),
                 "99999": UnitRef("99999", "commune", "75", "Phường thử", "75")} for y in years}
    return Offer(release_ids=["r"], release="r", years=list(years), units=units,
                 levels={y: ["province", "commune"] for y in years}, services={y: ["all"] for y in years},
                 indicators={y: ["sipas"] for y in years}, boundaries=set(boundaries))


def test_third_vintage_map_style_in_the_view(third_vintage):
    offer = _offer([2025, 2026], {("2026", "commune")})
    state, notices = parse_view({"year": "2026"}, offer)
    assert (state.level, state.map, notices) == ("commune", "boundaries", [])
    state, notices = parse_view({"year": "2025", "map": "boundaries"}, offer)
    assert state.map == "tiles" and notices  # the 2026 layer is not the 2025 units' layer


def _reader(calls):
    def read(**kw):
        calls.append(kw)
        units = kw.get("unit") or "75"
        return pd.DataFrame([{"unit_code": u, "source": "computed", "suppressed": False, "value": 80.0, "n": 100.0,
                              "ci_low": 75.0, "ci_high": 85.0, "rank": float("nan"), "parent_code": "75",
                              "level": "province"} for u in ([units] if isinstance(units, str) else units)])
    return read


def test_third_vintage_key_numbers_read_the_previous_year_restated(third_vintage):
    for year, restated in ((2026, True), (2025, False)):
        calls = []
        facts = press.headline_facts(_reader(calls), [2024, 2025, 2026], year=year, unit="75", service="all",
                                     indicator="sipas")
        assert calls[1]["year"] == year - 1 and calls[1]["restated"] is restated
        assert facts.prev_restated is restated


@pytest.fixture()
def page(monkeypatch, third_vintage):
    """Import a page module without running it (its last line runs the page)."""
    monkeypatch.setattr(pages._common, "run_page", lambda *a, **k: None)
    loaded = []

    def load(name):
        sys.modules.pop(name, None)
        loaded.append(name)
        return importlib.import_module(name)
    yield load
    for name in loaded:
        sys.modules.pop(name, None)


def test_third_vintage_pages(page, monkeypatch):
    overview = page("pages.overview")
    calls = []
    ctx = SimpleNamespace(offer=SimpleNamespace(years=[2024, 2025, 2026]), read=_reader(calls))
    assert overview.previous_cell(ctx, 2026, "75", "all", "sipas")[1] is True
    assert overview.previous_cell(ctx, 2025, "75", "all", "sipas")[1] is False
    # the year-before reads (the others ask what the restated 2025 covers, through the lineage)
    assert [c["restated"] for c in calls if "restated" in c] == [True, False]

    locality = page("pages.locality")
    offer = _offer([2025, 2026], ())
    assert set(locality._present(SimpleNamespace(offer=offer))) == {"2025", "2026"}

    warned = []
    monkeypatch.setattr(pages._common, "st", SimpleNamespace(warning=lambda text, icon=None: warned.append(text)))
    ctx = SimpleNamespace(t=lambda key: key)
    for years, expected in (([2025, 2026], ["warn_boundary"]), ([2026, 2027], []),
                            ([2021, 2026], ["warn_method", "warn_boundary"])):
        warned.clear()
        pages._common.comparability(ctx, years)
        assert warned == expected, years


def test_third_vintage_release_units_follow_the_calendar(third_vintage):
    used = UsedUnits()
    used.add(pa.table({"year": [2024, 2025, 2026, 2024], "basis": ["pooled", "pooled", "pooled", "restated"],
                       "level": ["province"] * 4, "unit_code": ["87", "82", "75", "75"]}))
    got = used.frame().sort_values(["vintage", "code"]).values.tolist()
    assert got == [["2019", "province", "87"], ["2025", "province", "82"],
                   ["2026", "province", "75"]]
