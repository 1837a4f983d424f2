"""ui.state: URL parameters -> validated view, fallbacks with notices, and the round trip."""
import pytest

from ui.offer import build_offer
from ui.state import ViewState, ancestors, map_area, parse_view, to_params, units_in_area


@pytest.fixture(scope="module")
def release(demo_release_root):
    from sipas_data.release import open_release
    return open_release(root=demo_release_root)


@pytest.fixture(scope="module")
def offer(release):
    return build_offer(release)


def test_defaults_are_the_latest_year_and_its_top_unit(offer, release):
    state, notices = parse_view({}, offer)
    assert notices == []
    assert state.year == max(release.years)
    provinces = release.read(year=state.year, level="province")["unit_code"].unique()
    assert state.unit == provinces[0] and len(provinces) == 1
    assert state.level == offer.levels[state.year][1]  # the level below the province


def test_offer_units_match_the_release_table(offer, release):
    for year in (2024, 2025):
        rows = release.read(year=year, level=["province", "district", "commune"])
        assert set(offer.units[year]) - {"VN"} == set(rows["unit_code"])
        for code, parent in zip(rows["unit_code"], rows["parent_code"]):
            assert offer.units[year][code].parent == parent


@pytest.mark.parametrize("params", [
    {"year": "2024", "unit": "868", "level": "commune", "service": "birth", "indicator": "element:access",
     "lang": "en", "map": "tiles"},
    {"year": "2019", "unit": "87", "level": "district", "service": "all", "indicator": "sipas", "lang": "vi",
     "map": "tiles", "units": "868,870"},
    {"year": "2025", "unit": "82", "level": "commune", "service": "all", "indicator": "aspect:policy",
     "lang": "vi", "map": "tiles"},
])
def test_round_trip(offer, params):
    state, notices = parse_view(params, offer)
    assert notices == []
    assert to_params(state) == {"release": offer.release, **params}
    again, notices = parse_view(to_params(state), offer)
    assert again == state and notices == []


@pytest.mark.parametrize("key,value,field,fallback", [
    ("year", "1999", "year", 2025),
    ("year", "abc", "year", 2025),
    ("unit", "99999", "unit", "82"),
    ("unit", "<script>", "unit", "82"),
    ("service", "teleport", "service", "all"),
    ("indicator", "item:nope", "indicator", "sipas"),
    ("lang", "fr", "lang", "vi"),
    ("map", "satellite", "map", "tiles"),
    ("map", "boundaries", "map", "tiles"),  # none installed
    ("level", "country", "level", "commune"),
])
def test_bad_values_fall_back_with_a_notice(offer, key, value, field, fallback):
    state, notices = parse_view({key: value}, offer)
    assert getattr(state, field) == fallback
    assert len(notices) == 1 and notices[0]


def test_stale_unit_from_another_vintage_is_carried_with_a_notice(offer):
    # 868 (Thành phố Hồng Ngự) exists up to 2024, not on the 2025 units: the view goes to the
    # new province that contains it and says so, by name (not a bare code fallback)
    state, notices = parse_view({"year": "2025", "unit": "868"}, offer)
    assert state.unit == "82" and state.origin == "2019:868"
    assert len(notices) == 1 and "Thành phố Hồng Ngự" in notices[0] and "Tỉnh Đồng Tháp" in notices[0]


def test_indicator_of_the_other_scheme_falls_back(offer):
    state, notices = parse_view({"year": "2019", "indicator": "aspect:policy"}, offer)
    assert state.indicator == "sipas" and notices


def test_compare_keeps_known_units_and_caps_at_five(offer):
    codes = [c for c, r in offer.units[2024].items() if r.level == "commune"][:7]
    state, notices = parse_view({"year": "2024", "units": ",".join(codes + ["bad"])}, offer)
    assert state.compare == tuple(codes[:5])
    assert len(notices) == 2


def test_map_area_and_breadcrumbs(offer):
    s = ViewState(release=offer.release, year=2024, level="commune", unit="868")
    area, highlight = map_area(offer, s)
    assert (area, highlight) == ("868", None)
    communes = units_in_area(offer, 2024, "868", "commune")
    assert communes and all(r.parent == "868" for r in communes)
    commune = communes[0].code
    area, highlight = map_area(offer, s.with_(unit=commune))
    assert (area, highlight) == ("868", commune)
    assert [r.code for r in ancestors(offer, 2024, commune)] == ["VN", "87", "868", commune]
    # 2025: communes hang directly under the province
    s25 = ViewState(release=offer.release, year=2025, level="commune", unit="82")
    assert len(units_in_area(offer, 2025, *map_area(offer, s25)[:1], "commune")) == len(
        [r for r in offer.units[2025].values() if r.level == "commune"])
