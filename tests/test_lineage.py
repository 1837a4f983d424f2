"""A unit is (vintage, code): lineage across the 2025 reform, the view carried across it, a
unit's own series, and what a restated year covers (on the official crosswalk and the demo)."""
import pandas as pd
import pytest

from ui import lineage, queries
from ui.offer import build_offer
from ui.state import parse_view, to_params, unit_label


@pytest.fixture(scope="module")
def release(demo_release_root):
    from sipas_data.release import open_release
    return open_release(root=demo_release_root)


@pytest.fixture(scope="module")
def offer(release):
    return build_offer(release)


# ---------------------------------------------------------------------------------------------
# the official crosswalk, read as lineage

def test_a_reused_code_is_two_units():
    # old Phường An Thạnh (2019, 29955) and two neighbours became the new Phường Hồng Ngự (2025, 29955)
    assert lineage.successors("29955", "2019") == ["29955"]
    assert lineage.predecessors("29955", "2025") == ["29955", "29959", "29965"]
    assert lineage.successors("29955", "2025") == []      # the latest vintage goes nowhere
    assert lineage.predecessors("29955", "2019") == []    # nothing before the earliest


def test_provinces_districts_and_split_communes():
    assert lineage.restated_from("82", "2025") == ["82", "87"]   # old Tiền Giang and old Đồng Tháp
    assert lineage.containing("868", "2019") == ["82"]           # a district: its new province
    # old Phường 3 (Sa Đéc) is split: the official default first, then the other part
    assert lineage.is_split("29902", "2019")
    assert lineage.successors("29902", "2019") == ["29905", "29869"]
    assert "29902" in lineage.predecessors("29869", "2025")
    # the restated series counts a split commune once, in its default new commune
    assert "29902" not in lineage.restated_from("29869", "2025")
    assert "29902" in lineage.restated_from("29905", "2025")
    assert lineage.reform_date("2025") == "1/7/2025"


# ---------------------------------------------------------------------------------------------
# a unit's own series

def _cells(rows):
    cols = ["year", "unit_code", "value", "basis"]
    d = pd.DataFrame(rows, columns=cols)
    return d.assign(source="computed", suppressed=False, n=100, service="all", indicator="sipas")


def test_history_keeps_the_vintage_of_the_unit():
    frame = _cells([(2023, "29955", 80.0, "pooled"), (2024, "29955", 78.7, "pooled"),   # old An Thạnh
                    (2025, "29955", 76.6, "pooled"),                                     # new Hồng Ngự
                    (2023, "29955", 81.0, "restated"), (2024, "29955", 79.0, "restated")])

    def read(**f):
        assert f["restated"] is None and f["year"] is None
        return frame

    new = queries.history(read, vintage="2025", unit="29955", service="all", indicator="sipas")
    assert list(zip(new.year, new.basis)) == [(2023, "restated"), (2024, "restated"), (2025, "pooled")]
    assert list(new.value) == [81.0, 79.0, 76.6]
    old = queries.history(read, vintage="2019", unit="29955", service="all", indicator="sipas")
    assert list(zip(old.year, old.value)) == [(2023, 80.0), (2024, 78.7)]   # ends in 2024


def test_history_on_the_demo_release(release):
    old = queries.history(release.read, vintage="2019", unit="29955", service="all", indicator="sipas")
    assert sorted(old.year) == list(range(2018, 2025)) and set(old.basis) == {"pooled"}
    new = queries.history(release.read, vintage="2025", unit="29955", service="all", indicator="sipas")
    assert set(new[new.basis == "pooled"].year) == {2025}
    assert set(new[new.year < 2025].basis) == {"restated"}


# ---------------------------------------------------------------------------------------------
# the view carried across the reform

def _switch(offer, params, year):
    from pages._common import change_params
    state, _ = parse_view(params, offer)
    return parse_view(change_params(state, offer, year=year, level=state.level), offer)


def test_an_old_commune_moves_to_the_new_one_that_contains_it(offer):
    state, notices = _switch(offer, {"year": "2024", "unit": "29955"}, 2025)
    assert (state.year, state.unit, state.origin) == (2025, "29955", "2019:29955")
    assert len(notices) == 1
    assert "Phường An Thạnh" in notices[0] and "Phường Hồng Ngự" in notices[0] and "1/7/2025" in notices[0]
    assert parse_view(to_params(state), offer)[0] == state      # the URL reproduces it


def test_a_dissolved_commune_is_not_a_silent_fallback(offer):
    # Xã Mỹ An Hưng A (2024) was merged into Xã Mỹ An Hưng (30178), not into the province
    state, notices = _switch(offer, {"year": "2024", "unit": "30172"}, 2025)
    assert state.unit == "30178"
    assert "Xã Mỹ An Hưng A" in notices[0] and "Xã Mỹ An Hưng" in notices[0]


def test_a_new_unit_going_back_offers_the_units_it_was_formed_from(offer):
    state, notices = _switch(offer, {"year": "2025", "unit": "29955"}, 2024)
    assert (state.year, state.unit) == (2024, "868")   # their common district, not old An Thạnh
    for old in ("Phường An Thạnh", "Xã Tân Hội"):
        assert old in notices[0]
    state, notices = _switch(offer, {"year": "2025", "unit": "82"}, 2024)
    assert state.unit == "87" and "Tỉnh Tiền Giang" in notices[0]


def test_compared_units_are_carried_and_another_change_drops_the_notice(offer):
    from pages._common import change_params
    state, _ = _switch(offer, {"year": "2024", "unit": "29955", "units": "29955,30172"}, 2025)
    assert state.compare == ("29955", "30178")
    later, notices = parse_view(change_params(state, offer, service="birth"), offer)
    assert later.origin == "" and notices == []


def test_a_split_commune_offers_its_parts(offer):
    state, notices = _switch(offer, {"year": "2024", "unit": "29902"}, 2025)
    assert state.unit == "29905"
    assert "Phường Sa Đéc" in notices[0] and "Phường Cao Lãnh" in notices[0]


def test_repeated_names_carry_their_parent(offer):
    assert unit_label(offer, 2024, "29869") == "Phường 1 · TP Cao Lãnh"
    assert unit_label(offer, 2024, "29905") == "Phường 1 · TP Sa Đéc"
    assert unit_label(offer, 2024, "866") == "Thành phố Cao Lãnh"      # a unique name stays as it is


# ---------------------------------------------------------------------------------------------
# what a restated year covers

def test_restated_province_covers_only_the_old_units_with_forms(release):
    p = queries.previous(release.read, release.years, year=2025, unit="82", service="all", indicator="sipas")
    n87 = int(release.read(year=2024, unit="87", level="province")["n"].iloc[0])
    assert p.restated and p.covered == (("87", n87),) and p.missing == ("82",)
    assert p.covered_now == ("82", "87")         # the 2025 communes come from both old provinces
    assert not p.same_area and p.value is None   # no change is computed against old Đồng Tháp alone


def test_same_area_restated_commune_keeps_its_change(release):
    # new Xã Mỹ An Hưng (30178) is restated from four old communes, all surveyed in 2024
    p = queries.previous(release.read, release.years, year=2025, unit="30178", service="all", indicator="sipas")
    olds = release.read(year=2024, unit=["30172", "30175", "30178", "30202"], level="commune")
    assert dict(p.covered) == dict(zip(olds.unit_code, olds.n.astype(int))) and p.missing == ()
    assert p.same_area and p.value == pytest.approx(float(p.row["value"]))
    # new Phường Đạo Thạnh lies in old Tiền Giang, which the demo's 2024 forms do not cover
    p = queries.previous(release.read, release.years, year=2025, unit="28249", service="all", indicator="sipas")
    assert p.covered == () and set(p.missing) == {"28249", "28252", "28282"} and p.value is None


def test_rank_of_a_unit_alone_is_none(release):
    row = queries.headline(release.read, year=2025, unit="82", service="all", indicator="sipas")
    assert queries.rank_of(release.read, row, year=2025, service="all", indicator="sipas") is None


def test_split_communes_come_from_geo_with_the_default_first():
    """geo names every new commune a split old commune went to; the crosswalk keeps the default."""
    import geo
    splits = geo.split_communes()
    assert splits, "the official converter splits some communes"
    cw = geo.crosswalk().set_index("old_commune_code")["new_commune_code"]
    for old, news in list(splits.items())[:50]:
        assert len(news) == len(set(news))
        if old in cw.index and len(news) > 1:
            assert cw.loc[old] == news[0]
