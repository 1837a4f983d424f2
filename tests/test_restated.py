"""The restated series: earlier years' headline indices on today's units, rolled up from the
grain (tests/handworked.py describes the forms; the crosswalk here is made up for the test)."""
from fractions import Fraction as F

import pandas as pd
import pytest

from handworked import C1, C2, C3, ITEMS, form, forms
from sipas_data.engine import Restatement, compute_batches, compute_indices

TOL = 1e-9
N1, N2 = "30001", "30002"
# C1 and C2 merged into N1, C3 became N2, C4 has no new commune; province 87 merged into 82.
RESTATE = Restatement(
    communes=pd.DataFrame({"old_commune_code": [C1, C2, C3], "new_commune_code": [N1, N1, N2]}),
    provinces=pd.DataFrame({"old_province_code": ["87", "86"], "new_province_code": ["82", "82"]}),
    before_year=2025)


def restated_cells(df: pd.DataFrame, threshold: int = 2) -> pd.DataFrame:
    import duckdb
    import pyarrow as pa

    batches = list(compute_batches(duckdb.connect(), df, threshold=threshold, restate=RESTATE))
    table = pa.concat_tables(batches).to_pandas()
    for column in table.columns:
        if isinstance(table[column].dtype, pd.CategoricalDtype):
            table[column] = table[column].astype(object)
    return table[table.basis == "restated"]


def cell(cells, level, unit, indicator):
    row = cells[(cells.level == level) & (cells.unit_code == unit) & (cells.indicator == indicator)
                & (cells.service == "all")]
    assert len(row) == 1, f"expected one restated cell for {level} {unit} {indicator}"
    return row.iloc[0]


# N1 = C1 + C2 = forms F1 (all 5), F2 (all 2, access_1 blank), F3 (all 4, procedures_1 and
# feedback_4 blank), F4 (all 3), F5 (all 4). An ordinary item: satisfied F1 F3 F5 = 3 of 5;
# access_1: 3 of 4; procedures_1 and feedback_4: 2 of 4.
N1_ITEM, N1_ACCESS_1, N1_BLANK_F3 = F(3, 5), F(3, 4), F(2, 4)
N1_SIPAS = ((N1_ACCESS_1 + 3 * N1_ITEM) / 4 + (N1_BLANK_F3 + 4 * N1_ITEM) / 5 + N1_ITEM + N1_ITEM
            + (3 * N1_ITEM + N1_BLANK_F3) / 4) / 5                                  # 59.85


@pytest.fixture(scope="module")
def restated():
    """Every restated cell published: the arithmetic is checked where nothing is withheld."""
    return restated_cells(forms(), threshold=1)


def test_merged_communes_pool_their_respondents(restated):
    sipas = cell(restated, "commune", N1, "sipas")
    assert sipas.value == pytest.approx(float(100 * N1_SIPAS), abs=TOL) and sipas.n == 5
    assert sipas.parent_code == "82" and sipas["rank"] == 2  # N2 (F7 alone, all 4s) is 100
    small = cell(restated_cells(forms(), threshold=2), "commune", N2, "sipas")  # F7 alone, under 2
    assert small.suppressed and pd.isna(small.value) and pd.isna(small.n)


def test_a_restated_unit_never_gives_away_an_old_unit_it_was_formed_from():
    # Threshold 3: old C1 (3 forms) is published, old C2 (2 forms) withheld. N1 = C1 + C2
    # published would give C2 away as N1 minus C1, so N1 is withheld too.
    pooled = compute_indices(forms(), threshold=3).to_pandas()
    old = pooled[(pooled.level == "commune") & (pooled.indicator == "sipas") & (pooled.service == "all")]
    assert not old[old.unit_code == C1].suppressed.iloc[0] and old[old.unit_code == C2].suppressed.iloc[0]
    new = cell(restated_cells(forms(), threshold=3), "commune", N1, "sipas")
    assert new.suppressed and pd.isna(new.value) and pd.isna(new.n)


def test_new_province_counts_every_form_and_no_district_remains(restated):
    # all nine forms: the district-level F6 and C4's forms (no new commune) count toward 82
    pooled_district = compute_indices(forms(), threshold=1).to_pandas()
    district = pooled_district[(pooled_district.level == "district") & (pooled_district.indicator == "sipas")
                               & (pooled_district.service == "all") & (pooled_district.breakdown == "all")].iloc[0]
    province = cell(restated, "province", "82", "sipas")
    assert province.n == 9 and province.value == pytest.approx(district.value, abs=TOL)
    assert set(restated.level) == {"province", "commune"}
    assert set(restated.unit_code[restated.level == "commune"]) == {N1, N2}


def test_only_headline_indices_and_overall_cells_are_restated(restated):
    kinds = {i.split(":")[0] for i in restated.indicator}
    assert kinds == {"sipas", "element"}  # sipas-2017 has no aspects
    assert set(restated.breakdown) == {"all"}
    assert set(restated.service) == {"all", "birth", "marriage", "id_card"}


def test_later_years_are_not_restated():
    df = forms().assign(year=2025)
    assert restated_cells(df).empty


def test_merging_provinces_never_overflows_the_packed_counts():
    # Counts travel packed, each field as wide as the biggest old province needs (1,000
    # forms: 10 bits). The merged province holds 2,000, so the grain must be unpacked first.
    rows = [form(f"A{i}", C1, "birth", 5 if i % 4 else 2) for i in range(1000)]
    rows += [form(f"B{i}", "28000", "birth", 5 if i % 5 else 1, province_code="86", district_code="855")
             for i in range(1000)]
    df = pd.DataFrame(rows)
    for item in ITEMS:
        df[item] = df[item].astype("Int8")
    province = cell(restated_cells(df), "province", "82", "sipas")
    # 750 + 800 of 2,000 respondents satisfied on every item
    assert province.n == 2000 and province.value == pytest.approx(100 * 1550 / 2000, abs=TOL)
