"""The engine against indices worked out by hand (tests/handworked.py describes the forms)."""
from fractions import Fraction as F

import pandas as pd
import pytest

from handworked import C1, C2, C3, C4, ITEMS, forms
from sipas_data.engine import compute_indices, wilson_interval

TOL = 1e-9


@pytest.fixture(scope="module")
def cells() -> pd.DataFrame:
    """Every cell published: the arithmetic is checked where nothing is withheld."""
    return compute_indices(forms(), threshold=1).to_pandas()


@pytest.fixture(scope="module")
def protected() -> pd.DataFrame:
    """Cells under 2 answers withheld, and those that would give them away."""
    return compute_indices(forms(), threshold=2).to_pandas()


def cell(cells, level, unit, indicator, service="all", breakdown="all", group="all"):
    row = cells[(cells.level == level) & (cells.unit_code == unit) & (cells.indicator == indicator)
                & (cells.service == service) & (cells.breakdown == breakdown) & (cells.group == group)]
    assert len(row) == 1, f"expected one cell for {level} {unit} {indicator} {service} {breakdown}/{group}"
    return row.iloc[0]


def pct(x: F) -> float:
    return float(100 * x)


# Commune C1 has forms F1 (all 5), F2 (all 2, access_1 blank), F3 (all 4, procedures_1 and
# feedback_4 blank). An ordinary item: 2 satisfied of 3. access_1: 2 of 2. procedures_1 and
# feedback_4: 1 of 2.
C1_ITEM, C1_ACCESS_1, C1_HALF = F(2, 3), F(1), F(1, 2)
C1_ELEMENTS = {
    "access": (C1_ACCESS_1 + 3 * C1_ITEM) / 4,          # 75
    "procedures": (C1_HALF + 4 * C1_ITEM) / 5,          # 63.33…
    "civil_servants": C1_ITEM,
    "results": C1_ITEM,
    "feedback": (3 * C1_ITEM + C1_HALF) / 4,            # 62.5
}
C1_SIPAS = sum(C1_ELEMENTS.values()) / 5                # 66.833…

# District 866 has all nine forms. An ordinary item: satisfied F1 F3 F5 F6 F7 F8 = 6 of 9.
# access_1 (F2 blank): 6 of 8. procedures_1 and feedback_4 (F3 blank): 5 of 8. Civil-servant
# items (F6 answered 1): 5 of 9.
D_ITEM, D_ACCESS_1, D_BLANK_F3, D_CS = F(6, 9), F(6, 8), F(5, 8), F(5, 9)
D_ELEMENTS = {
    "access": (D_ACCESS_1 + 3 * D_ITEM) / 4,            # 68.75
    "procedures": (D_BLANK_F3 + 4 * D_ITEM) / 5,        # 65.833…
    "civil_servants": D_CS,                             # 55.55…
    "results": D_ITEM,
    "feedback": (3 * D_ITEM + D_BLANK_F3) / 4,          # 65.625
}
D_SIPAS = sum(D_ELEMENTS.values()) / 5                  # 64.486…


def test_item_indices_and_n_match_hand_counts(cells):
    assert cell(cells, "commune", C1, "item:access_1").value == pytest.approx(pct(C1_ACCESS_1), abs=TOL)
    assert cell(cells, "commune", C1, "item:access_1").n == 2
    assert cell(cells, "commune", C1, "item:access_2").value == pytest.approx(pct(C1_ITEM), abs=TOL)
    assert cell(cells, "commune", C1, "item:access_2").n == 3
    assert cell(cells, "commune", C1, "item:procedures_1").value == pytest.approx(50, abs=TOL)
    assert cell(cells, "district", "866", "item:civil_servants_3").value == pytest.approx(pct(D_CS), abs=TOL)
    assert cell(cells, "district", "866", "item:access_1").n == 8


def test_elements_and_sipas_of_a_commune(cells):
    for element, value in C1_ELEMENTS.items():
        assert cell(cells, "commune", C1, f"element:{element}").value == pytest.approx(pct(value), abs=TOL)
    assert cell(cells, "commune", C1, "sipas").value == pytest.approx(pct(C1_SIPAS), abs=TOL)
    assert cell(cells, "commune", C1, "sipas").n == 3


def test_district_is_computed_from_its_respondents_not_its_communes(cells):
    for element, value in D_ELEMENTS.items():
        assert cell(cells, "district", "866", f"element:{element}").value == pytest.approx(pct(value), abs=TOL)
    sipas = cell(cells, "district", "866", "sipas")
    assert sipas.value == pytest.approx(pct(D_SIPAS), abs=TOL)
    assert sipas.n == 9  # includes the district-level form F6, which belongs to no commune
    commune_mean = cells[(cells.level == "commune") & (cells.indicator == "sipas") & (cells.service == "all")
                         & ~cells.suppressed].value.mean()
    assert abs(sipas.value - commune_mean) > 1  # averaging communes would give another number


def test_services_split_the_commune(cells, protected):
    birth = cell(cells, "commune", C1, "item:access_2", service="birth")  # F1 (5) and F2 (2)
    assert birth.value == pytest.approx(50, abs=TOL) and birth.n == 2
    assert cell(cells, "district", "866", "item:civil_servants_1", service="id_card").value == 0  # F6
    idcard = cell(protected, "district", "866", "item:civil_servants_1", service="id_card")
    assert idcard.suppressed and pd.isna(idcard.value) and pd.isna(idcard.n)  # one form (F6) < 2


def test_suppressed_cell_has_no_value_no_interval_no_rank_and_no_n(protected):
    c3 = cell(protected, "commune", C3, "sipas")  # one form, threshold 2
    assert c3.suppressed
    assert pd.isna(c3.value) and pd.isna(c3.ci_low) and pd.isna(c3.ci_high) and pd.isna(c3["rank"])
    assert pd.isna(c3.n)


def test_rank_ties_share_the_lower_rank(cells):
    ranks = {u: cell(cells, "commune", u, "sipas")["rank"] for u in (C1, C2, C3, C4)}
    # C3 100 (one form, all 4s); C1 66.83; C2 and C4 both 50 exactly (one satisfied, one not)
    assert ranks == {C3: 1, C1: 2, C2: 3, C4: 3}


def test_profile_breakdown_only_at_district_and_province(cells):
    female = cell(cells, "district", "866", "sipas", breakdown="gender", group="female")
    assert female.n == 3 and female.value == pytest.approx(100, abs=TOL)  # F1 5s, F3 4s, F5 4s
    male = cell(cells, "province", "87", "sipas", breakdown="gender", group="male")
    assert male.n == 2 and male.value == pytest.approx(0, abs=TOL)       # F2 2s, F4 3s
    assert not ((cells.level == "commune") & (cells.breakdown != "all")).any()


def test_item_interval_is_wilson(cells):
    c = cell(cells, "district", "866", "item:access_1")
    lo, hi = wilson_interval(6, 8)
    assert (c.ci_low, c.ci_high) == (pytest.approx(lo, abs=TOL), pytest.approx(hi, abs=TOL))
    # a textbook value: 6 of 8 -> Wilson 95% interval 40.93% .. 92.85%
    assert lo == pytest.approx(40.9275, abs=1e-3) and hi == pytest.approx(92.8521, abs=1e-3)


def test_composite_interval_from_respondent_scores(cells):
    # Commune C2: two respondents, element scores 0 (all 3s) and 1 (all 4s): mean 0.5, sd 0.5
    c = cell(cells, "commune", C2, "element:access")
    half = 100 * 1.959963984540054 * 0.5 / 2 ** 0.5
    assert c.ci_low == pytest.approx(max(0, 50 - half), abs=TOL)
    assert c.ci_high == pytest.approx(min(100, 50 + half), abs=TOL)
    assert c.ci_low <= c.value <= c.ci_high


def test_weights_of_one_and_uniform_weights_agree():
    base = compute_indices(forms(), threshold=2).to_pandas()
    heavy = forms().assign(weight=2.5)
    other = compute_indices(heavy, threshold=2).to_pandas()
    keys = ["level", "unit_code", "service", "breakdown", "group", "indicator"]
    both = base.merge(other, on=keys)
    assert len(both) == len(base) == len(other)
    assert (both.value_x.fillna(-1) - both.value_y.fillna(-1)).abs().max() < TOL


def test_weights_change_the_value_as_a_weighted_share():
    df = forms()
    df.loc[df.form_id == "F5", "weight"] = 3.0
    c = compute_indices(df, threshold=2).to_pandas()
    # district 866: satisfied F1 F3 F5 F6 F7 F8, weights 1 + 1 + 3 + 1 + 1 + 1 = 8 of 11
    assert cell(c, "district", "866", "item:results_1").value == pytest.approx(100 * 8 / 11, abs=TOL)
    assert cell(c, "district", "866", "item:results_1").n == 9  # n stays the count of answers


def test_a_cell_one_form_carries_is_withheld():
    df = forms()
    df.loc[df.form_id == "F5", "weight"] = 3.0  # C2: F4 (weight 1) and F5 (weight 3): F5 carries 3/4
    c = compute_indices(df, threshold=2).to_pandas()
    carried = cell(c, "commune", C2, "item:results_1")
    assert carried.suppressed and pd.isna(carried.value) and pd.isna(carried.n)
    df.loc[df.form_id == "F5", "weight"] = 1.0  # the same two forms unweighted: published
    assert not cell(compute_indices(df, threshold=2).to_pandas(), "commune", C2, "item:results_1").suppressed


def test_expectations_2017_share_of_respondents_ticking():
    df = forms()
    df["expect_fees"] = pd.array([1, 0, 0, 1, 1, 0, 0, 0, 0], dtype="Int8")
    df["expect_online"] = pd.array([0, 0, 0, 0, 0, 0, 0, 0, pd.NA], dtype="Int8")  # F9 left the block blank
    c = compute_indices(df, threshold=2).to_pandas()
    district = cell(c, "district", "866", "expectation:fees")
    assert district.value == pytest.approx(100 * 3 / 9, abs=TOL) and district.n == 9


def test_sipas_2022_mean_of_aspects_and_services_only_rule():
    from sipas_data.scheme import get_scheme
    m = get_scheme("sipas-2022")
    rows = []
    for k, (policy, service) in enumerate([(5, 4), (2, 4), (4, 2), (None, 5)]):
        row = {"form_id": f"G{k}", "year": 2024, "scheme": "sipas-2022", "province_code": "87",
               "district_code": "868", "commune_code": "29954", "service": "birth", "agency_level": "commune"}
        for el in m.elements:
            for it in el.items:
                if it.asked_in(2024):
                    row[it.id] = policy if el.aspect == "policy" else service
        rows.append(row)
    df = pd.DataFrame(rows)
    c = compute_indices(df, threshold=1).to_pandas()
    policy = cell(c, "commune", "29954", "aspect:policy")
    services = cell(c, "commune", "29954", "aspect:services")
    assert policy.value == pytest.approx(100 * 2 / 3, abs=TOL)   # G0, G2 satisfied of G0-G2
    assert services.value == pytest.approx(75, abs=TOL)          # G0, G1, G3 of four
    assert cell(c, "commune", "29954", "sipas").value == pytest.approx((policy.value + services.value) / 2, abs=TOL)
    # access_4 was not asked in 2024: no cell for it
    assert not (c.indicator == "item:access_4").any()


@pytest.mark.parametrize("copies", [1023, 1024])
def test_counts_fill_their_packed_fields_without_carrying(copies):
    # The engine packs several counts into one DOUBLE per form, each field as wide as the
    # biggest province's count needs: 1,023 forms fill 10 bits to the brim, 1,024 need 11.
    # Every answer a hit makes neighbouring fields all ones, so a carry would show at once.
    from handworked import form

    df = pd.DataFrame([form(f"P{i}", C1, "birth", 5) for i in range(copies)])
    for item in ITEMS:
        df[item] = df[item].astype("Int8")
    c = compute_indices(df).to_pandas()
    for level, unit in (("commune", C1), ("district", "866"), ("province", "87")):
        for item in ITEMS:
            row = cell(c, level, unit, f"item:{item}")
            assert (row.n, row.value) == (copies, 100.0)
        assert cell(c, level, unit, "sipas").n == copies


def test_counts_packed_narrower_in_the_grain_than_in_the_province_do_not_carry():
    # Over the forms, the fields are as wide as a grain cell's counts need (1,000 forms of a
    # district's service: 10 bits); the province's 2,000 need 11: the grain's sums are repacked
    # into the wider fields before the roll-up, and every answer a hit shows any carry.
    from handworked import form

    df = pd.DataFrame([form(f"P{i}", C1, service, 5, gender="female")
                       for service in ("birth", "marriage") for i in range(1000)])
    for item in ITEMS:
        df[item] = df[item].astype("Int8")
    c = compute_indices(df).to_pandas()
    for level, unit, service, n in (("commune", C1, "birth", 1000), ("commune", C1, "all", 2000),
                                    ("district", "866", "marriage", 1000), ("province", "87", "all", 2000)):
        for item in ITEMS:
            row = cell(c, level, unit, f"item:{item}", service=service)
            assert (row.n, row.value) == (n, 100.0)
        row = cell(c, level, unit, "sipas", service=service, breakdown="all" if level == "commune" else "gender",
                   group="all" if level == "commune" else "female")
        assert (row.n, row.value) == (n, 100.0)


def test_roll_up_adds_squared_scores_as_integers_when_a_double_might_not_hold_them(monkeypatch):
    # Sums of squared scores roll up as DOUBLEs only when the largest unit's cannot pass
    # 2**53; otherwise as 128-bit integers. Both paths give the same cells.
    import sipas_data.engine as engine

    usual = compute_indices(forms(), threshold=2).to_pandas()
    rollup = engine._rollup_sql
    seen = []

    def integers_only(*args, **kwargs):
        kwargs["squares_exact"] = False
        sql = rollup(*args, **kwargs)
        seen.append("::HUGEINT" in sql)
        return sql

    monkeypatch.setattr(engine, "_rollup_sql", integers_only)
    fallback = compute_indices(forms(), threshold=2).to_pandas()
    assert seen and all(seen)
    pd.testing.assert_frame_equal(usual, fallback)


def test_profile_breakdowns_summed_together_leave_out_forms_without_a_group(monkeypatch):
    # age groups beside the genders of tests/handworked.py (F6 to F9 have no gender; F4, F8 no age)
    df = forms().assign(age_group=["18-34", "35-59", "18-34", None, "35-59", "18-34", "60+", None, "18-34"])
    c = compute_indices(df, threshold=1).to_pandas()
    groups = c[(c.level == "district") & (c.unit_code == "866") & (c.indicator == "sipas") & (c.service == "all")
               & (c.breakdown != "all")]
    assert dict(zip(zip(groups.breakdown, groups.group), groups.n)) == {
        ("gender", "female"): 3, ("gender", "male"): 2,                          # F1 F3 F5; F2 F4
        ("age_group", "18-34"): 4, ("age_group", "35-59"): 2, ("age_group", "60+"): 1}  # F1 F3 F6 F9; F2 F5; F7
    # results_1 among 18-34: F1 (5), F3 (4), F6 (5) satisfied, F9 (2) not
    assert cell(c, "district", "866", "item:results_1", breakdown="age_group", group="18-34").value == pytest.approx(75)
    # weighted, with the sums in several scans joined on the district and group: the same shares
    import sipas_data.engine as engine

    monkeypatch.setattr(engine, "AGGREGATES_PER_SCAN", 16)
    heavy = compute_indices(df.assign(weight=2.0), threshold=1).to_pandas()
    keys = ["level", "unit_code", "service", "breakdown", "group", "indicator"]
    both = c.merge(heavy, on=keys)
    assert len(both) == len(c) == len(heavy)
    shown = ~both.suppressed_y
    assert (both.value_x[shown] - both.value_y[shown]).abs().max() < TOL


def test_profile_groups_keep_their_texts_whatever_they_hold(cells):
    # the groups travel as codes from the forms to the grain: texts SQL would quote, a blank one
    # and one like a number come back as they were, with the same cells
    texts = {"female": "nữ 'độc thân'", "male": ""}
    odd = compute_indices(forms().assign(gender=forms().gender.map(texts), age_group="1"), threshold=1).to_pandas()
    for usual, renamed in texts.items():
        mine = cell(odd, "district", "866", "sipas", breakdown="gender", group=renamed)
        theirs = cell(cells, "district", "866", "sipas", breakdown="gender", group=usual)
        assert (mine.n, mine.value) == (theirs.n, theirs.value)
    assert cell(odd, "province", "87", "sipas", breakdown="age_group", group="1").n == 9  # every form


def test_the_connection_keeps_its_settings():
    # the engine changes how DuckDB groups grouping sets only while it groups them
    import duckdb

    from sipas_data.engine import compute_batches

    con = duckdb.connect()
    con.execute("SET disabled_optimizers = 'top_n'")
    assert list(compute_batches(con, forms(), threshold=1))
    assert con.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0] == "top_n"


def test_district_breakdowns_are_read_from_the_grain_unless_two_provinces_share_a_code(monkeypatch):
    # A profile breakdown's grain row is its district's cell when no district code is used by
    # two provinces in a year; otherwise the rows are grouped by code, as the district's other
    # cells are. Both ways give the same cells where both apply.
    import sipas_data.engine as engine

    rollup = engine._rollup_sql
    seen = []

    def spied(*args, forced=None, **kwargs):
        seen.append(kwargs["districts_apart"])
        if forced is not None:
            kwargs["districts_apart"] = forced
        return rollup(*args, **kwargs)

    monkeypatch.setattr(engine, "_rollup_sql", spied)
    usual = compute_indices(forms(), threshold=1).to_pandas()
    monkeypatch.setattr(engine, "_rollup_sql", lambda *args, **kwargs: spied(*args, forced=False, **kwargs))
    grouped = compute_indices(forms(), threshold=1).to_pandas()
    assert seen == [True, True]
    pd.testing.assert_frame_equal(usual, grouped)

    other = forms().assign(province_code="88", form_id=lambda f: f.form_id + "b",
                           commune_code=lambda f: f.commune_code.where(f.commune_code.isna(), f.commune_code + "9"))
    shared = compute_indices(pd.concat([forms(), other], ignore_index=True), threshold=1).to_pandas()
    assert seen[-1] is False
    assert cell(shared, "district", "866", "sipas", breakdown="gender", group="female").n == 6
    assert cell(shared, "district", "866", "sipas", service="birth", breakdown="gender", group="male").n == 4
