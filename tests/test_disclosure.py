"""Disclosure control: no withheld cell can be worked out from the published ones.

The attacks are those of sipas_data/disclosure.py (an attacker's differencing over every set of
cells that add up), checked against the same forms computed with nothing withheld."""
import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handworked import ITEMS, form
from sipas_data.disclosure import (AdditiveSets, cell_sets, complementary_suppression, composite_parts,
                                   differencing_claims, formed_from_claims, parts_claims, recovered)
from sipas_data.engine import Restatement, compute_batches
from sipas_data.scheme import get_scheme

# Two districts with two communes each, and a made-up crosswalk onto two new communes.
PLACES = [("866", "29869"), ("866", "29872"), ("868", "29954"), ("868", "29955")]
RESTATE = Restatement(
    communes=pd.DataFrame({"old_commune_code": ["29869", "29872", "29954", "29955"],
                           "new_commune_code": ["30001", "30001", "30002", "30002"]}),
    provinces=pd.DataFrame({"old_province_code": ["87"], "new_province_code": ["82"]}), before_year=2025)
MAPPING = pd.DataFrame({"level": ["commune"] * 4 + ["province"], "old": ["29869", "29872", "29954", "29955", "87"],
                        "new": ["30001", "30001", "30002", "30002", "82"]})


def publish(df: pd.DataFrame, threshold: int) -> pd.DataFrame:
    batches = list(compute_batches(duckdb.connect(), df, threshold=threshold, restate=RESTATE))
    table = pa.concat_tables([b.cast(pa.schema([pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type)
                                                else f for f in b.schema])) for b in batches])
    return table.to_pandas()


def every_claim(cells: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([differencing_claims(cells), parts_claims(cells, composite_parts(cells.scheme.unique())),
                      formed_from_claims(cells, MAPPING)], ignore_index=True)


@st.composite
def form_sets(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(1, 150))
    year = draw(st.sampled_from([2019, 2024]))
    missing = draw(st.floats(0, 0.5))
    rng = np.random.default_rng(seed)
    m = get_scheme("sipas-2017" if year < 2022 else "sipas-2022")
    places = rng.integers(0, len(PLACES), n)
    district_level = rng.random(n) < 0.25
    df = pd.DataFrame({
        "form_id": [f"P{i}" for i in range(n)], "year": year, "scheme": m.id, "province_code": "87",
        "district_code": [PLACES[p][0] for p in places],
        "commune_code": [None if d else PLACES[p][1] for p, d in zip(places, district_level)],
        "service": np.where(district_level, "id_card", rng.choice(["birth", "marriage"], n)),
        "agency_level": np.where(district_level, "district", "commune"),
        # some forms say no gender: what the groups leave out is an unknown too
        "gender": rng.choice(["male", "female", None], n, p=[0.45, 0.45, 0.1]),
        "age_group": rng.choice(["18-29", "30-44", "45-59", "60+"], n),
    })
    for item in m.item_ids(year):
        answers = rng.integers(1, 6, n).astype(float)
        answers[rng.random(n) < missing] = np.nan
        df[item] = pd.array(answers, dtype="Int8")
    return df


def residuals(cells: pd.DataFrame) -> pd.DataFrame:
    """For every set with a published total (the groups of a breakdown; the children of a unit):
    what the total's n minus its visible members' n leaves."""
    d = cells[cells.source == "computed"]
    d = d.assign(visible_n=d.n.where(~d.suppressed).fillna(0))
    same = ["year", "scheme", "indicator", "basis", "service"]
    totals = d[~d.suppressed]
    groups = d[d.breakdown != "all"].groupby([*same, "level", "unit_code", "breakdown"]).visible_n.sum().reset_index()
    by_group = groups.merge(totals[totals.breakdown == "all"][[*same, "level", "unit_code", "n"]],
                            on=[*same, "level", "unit_code"])
    children = d.groupby([*same, "parent_code", "breakdown", "group"]).visible_n.sum().reset_index()
    by_place = children.rename(columns={"parent_code": "unit_code"}).merge(
        totals[[*same, "unit_code", "breakdown", "group", "n"]], on=[*same, "unit_code", "breakdown", "group"])
    both = pd.concat([by_group, by_place], ignore_index=True)
    return both.assign(residual=both.n - both.visible_n)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(form_sets(), st.integers(2, 15))
def test_differencing_recovers_nothing(df, threshold):
    truth = publish(df, threshold=1)
    cells = publish(df, threshold=threshold)
    assert cells[cells.suppressed][["value", "n", "ci_low", "ci_high", "rank"]].isna().all().all()
    found = recovered(every_claim(cells), truth)
    assert found.empty, found.head().to_string()
    # what differencing leaves of a published total is nothing, or an aggregate as large as
    # a publishable cell (never a few respondents together)
    left = residuals(cells)
    small = left[(left.residual > 0) & (left.residual < threshold)]
    assert small.empty, small.head().to_string()


def _district(genders: list[str | None], commune: str = "29869", service: str = "birth") -> pd.DataFrame:
    rows = [form(f"F{i}", commune, service, 4 + i % 2, gender=g) for i, g in enumerate(genders)]
    df = pd.DataFrame(rows)
    for item in ITEMS:
        df[item] = df[item].astype("Int8")
    return df


def cell(cells, level, unit, indicator="item:access_1", service="all", breakdown="all", group="all"):
    row = cells[(cells.level == level) & (cells.unit_code == unit) & (cells.indicator == indicator)
                & (cells.service == service) & (cells.breakdown == breakdown) & (cells.group == group)
                & (cells.basis == "pooled")]
    assert len(row) == 1
    return row.iloc[0]


def test_one_small_group_takes_the_next_smallest_with_it():
    # 12 women, 11 men, 2 other: "other" is under 10; withholding it alone would give it away
    # as the district minus women minus men, so men (the next smallest) are withheld too
    cells = publish(_district(["female"] * 12 + ["male"] * 11 + ["other"] * 2), threshold=10)
    group = {g: cell(cells, "district", "866", breakdown="gender", group=g) for g in ("female", "male", "other")}
    assert group["other"].suppressed and group["male"].suppressed and not group["female"].suppressed
    assert not cell(cells, "district", "866").suppressed


def test_forms_without_a_group_count_as_a_withheld_cell():
    # 15 women, 12 men and 3 forms with no gender: those 3 are the district minus both groups,
    # so one group is withheld with them
    cells = publish(_district(["female"] * 15 + ["male"] * 12 + [None] * 3), threshold=10)
    assert cell(cells, "district", "866", breakdown="gender", group="male").suppressed
    assert not cell(cells, "district", "866", breakdown="gender", group="female").suppressed


def test_a_small_commune_takes_a_sibling_with_it():
    df = pd.concat([_district(["female"] * 20, commune="29869"), _district(["female"] * 15, commune="29872"),
                    _district(["female"] * 3, commune="29870")], ignore_index=True)
    df["form_id"] = [f"F{i}" for i in range(len(df))]
    cells = publish(df, threshold=10)
    assert cell(cells, "commune", "29870").suppressed        # 3 forms
    assert cell(cells, "commune", "29872").suppressed        # 15: the next smallest
    assert not cell(cells, "commune", "29869").suppressed    # 20
    assert not cell(cells, "district", "866").suppressed


def test_a_small_service_takes_another_service_with_it():
    df = pd.concat([_district(["female"] * 20, service="birth"), _district(["female"] * 14, service="marriage"),
                    _district(["female"] * 4, service="certification")], ignore_index=True)
    df["form_id"] = [f"F{i}" for i in range(len(df))]
    cells = publish(df, threshold=10)
    assert cell(cells, "commune", "29869", service="certification").suppressed
    assert cell(cells, "commune", "29869", service="marriage").suppressed
    assert not cell(cells, "commune", "29869", service="birth").suppressed


def test_a_lone_withheld_item_of_a_published_element_takes_another_item_with_it():
    # 12 forms answer the element, but only 6 answer access_1: the element (the mean of its
    # items) minus the other items would give access_1 away
    df = _district(["female"] * 12)
    df.loc[df.index[6:], "access_1"] = pd.NA
    df.loc[df.index[:1], "access_2"] = pd.NA  # access_2 has 11 answers: the next smallest
    cells = publish(df, threshold=10)
    assert cell(cells, "commune", "29869", "item:access_1").suppressed
    assert cell(cells, "commune", "29869", "item:access_2").suppressed
    assert not cell(cells, "commune", "29869", "element:access").suppressed
    assert not cell(cells, "commune", "29869", "item:access_3").suppressed


def test_cell_sets_are_the_groups_the_children_and_the_services_of_a_cell():
    keys = pd.DataFrame({"year": [2024] * 6, "level": ["province", "district", "district", "district", "district",
                                                      "district"],
                         "unit_code": ["01", "001", "002", "001", "001", "001"],
                         "parent_code": [None, "01", "01", "01", "01", "01"],
                         "service": ["all", "all", "all", "all", "all", "birth"],
                         "breakdown": ["all", "all", "all", "gender", "gender", "all"],
                         "grp": ["all", "all", "all", "female", "male", "all"]})
    sets = cell_sets(keys)
    # district 001 = its women + its men; the province = its two districts (001's groups and
    # its birth cell have no province cell to add up to); 001 = its one service
    assert sets.parent.tolist() == [1, 0, 1]
    assert sets.member_set.tolist() == [0, 0, 1, 1, 2]
    assert sets.member_row.tolist() == [3, 4, 1, 2, 5]


def test_cell_sets_refuse_a_cell_named_twice():
    # district 001 twice: which of the two would its communes add up to?
    keys = pd.DataFrame({"year": [2024] * 3, "level": ["province", "district", "district"],
                         "unit_code": ["01", "001", "001"], "parent_code": [None, "01", "01"],
                         "service": ["all"] * 3, "breakdown": ["all"] * 3, "grp": ["all"] * 3})
    with pytest.raises(pd.errors.InvalidIndexError):
        cell_sets(keys)


def test_the_rule_settles_across_sets_that_share_cells():
    # three cells: A + B = T and B + C = U; A is small. Withholding B for T leaves B alone in U,
    # so C is withheld too.
    sets = AdditiveSets(parent=np.array([3, 4]), member_set=np.array([0, 0, 1, 1]), member_row=np.array([0, 1, 1, 2]))
    n = np.array([3, 40, 50, 43, 90])
    out = complementary_suppression(n, sets, limit=10)
    assert out.tolist() == [True, True, True, False, False]


def test_indicators_with_the_same_counts_withhold_the_same_cells():
    # the sets of the test above, for three indicators: the first two have the same counts (A is
    # small: A, B and C go), the third has no small cell (nothing goes)
    sets = AdditiveSets(parent=np.array([3, 4]), member_set=np.array([0, 0, 1, 1]), member_row=np.array([0, 1, 1, 2]))
    same = [3, 40, 50, 43, 90]
    n = np.array([same, same, [30, 40, 50, 70, 90]]).T
    out = complementary_suppression(n, sets, limit=10)
    assert out.T.tolist() == [[True, True, True, False, False]] * 2 + [[False] * 5]


def test_indicators_with_the_same_counts_part_where_one_is_a_part():
    # items x and z have the same counts; element e is the mean of x and y. y (5 answers) is
    # withheld, so x, the other part, goes with it; z is nobody's part and stays published
    n = np.array([[15, 5, 15, 20]])  # x, y, z, e
    out = complementary_suppression(n, AdditiveSets(*[np.zeros(0, np.int64)] * 3), limit=10, parts=[(3, [0, 1])])
    assert out.tolist() == [[True, True, False, False]]


def test_a_remainder_as_large_as_a_cell_needs_no_partner():
    # T = A + B + what only T holds (30 answers): nothing is withheld, nothing more is
    sets = AdditiveSets(parent=np.array([2]), member_set=np.array([0, 0]), member_row=np.array([0, 1]))
    assert not complementary_suppression(np.array([40, 40, 110]), sets, limit=10).any()
    # ... but a small remainder (3 answers) is a withheld cell: the smaller member goes with it
    assert complementary_suppression(np.array([40, 35, 78]), sets, limit=10).tolist() == [False, True, False]


@pytest.mark.parametrize("weights, withheld", [([1.0] * 12, False), ([1.0] * 11 + [20.0], True)])
def test_a_cell_one_form_carries_is_withheld(weights, withheld):
    df = _district(["female"] * 12).assign(weight=weights)
    cells = publish(df, threshold=10)
    assert cell(cells, "commune", "29869").suppressed == withheld


def test_each_indicator_withholds_what_it_withholds_alone():
    # indicators are counted and settled apart, on two threads: settled together, each withholds
    # the cells it withholds settled on its own, on random sets that share cells
    rng = np.random.default_rng(7)
    for _ in range(200):
        rows, columns, count = int(rng.integers(2, 40)), int(rng.integers(2, 7)), int(rng.integers(1, 15))
        sizes = rng.integers(1, 6, count)
        sets = AdditiveSets(parent=rng.integers(0, rows, count), member_set=np.repeat(np.arange(count), sizes),
                            member_row=rng.integers(0, rows, sizes.sum()))
        n = rng.integers(0, 40, (rows, columns))
        n[:, -1] = n[:, 0]  # one indicator repeats another
        together = complementary_suppression(n, sets, limit=10)
        alone = np.column_stack([complementary_suppression(n[:, c], sets, limit=10) for c in range(columns)])
        assert (together == alone).all()
