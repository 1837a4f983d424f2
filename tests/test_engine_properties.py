"""Properties of the engine on random forms (hypothesis)."""
import hashlib

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sipas_data.build import build_release
from sipas_data.engine import compute_indices
from sipas_data.scheme import get_scheme
from sipas_data.release import INDICES

# Two districts of Đồng Tháp with two communes each (codes need not be real for the engine).
PLACES = [("866", "29869"), ("866", "29872"), ("868", "29954"), ("868", "29955")]
M17 = get_scheme("sipas-2017")
M22 = get_scheme("sipas-2022")


@st.composite
def form_sets(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(1, 120))
    year = draw(st.sampled_from([2019, 2024]))
    missing = draw(st.floats(0, 0.6))
    rng = np.random.default_rng(seed)
    m = M17 if year < 2022 else M22
    places = rng.integers(0, len(PLACES), n)
    district_level = rng.random(n) < 0.3
    df = pd.DataFrame({
        "form_id": [f"P{i}" for i in range(n)], "year": year, "scheme": m.id, "province_code": "87",
        "district_code": [PLACES[p][0] for p in places],
        "commune_code": [None if d else PLACES[p][1] for p, d in zip(places, district_level)],
        "service": np.where(district_level, "id_card", "birth"),
        "agency_level": np.where(district_level, "district", "commune"),
        "gender": rng.choice(["male", "female"], n),
    })
    for item in m.item_ids(year):
        answers = rng.integers(1, 6, n).astype(float)
        answers[rng.random(n) < missing] = np.nan
        df[item] = pd.array(answers, dtype="Int8")
    return df


def _values(cells: pd.DataFrame, **where) -> pd.DataFrame:
    mask = np.ones(len(cells), bool)
    for k, v in where.items():
        mask &= cells[k].to_numpy() == v
    return cells[mask]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(form_sets(), st.integers(1, 40))
def test_values_in_range_and_sipas_is_mean_of_parts(df, threshold):
    cells = compute_indices(df, threshold=threshold).to_pandas()
    shown = cells[~cells.suppressed]
    assert shown.value.between(0, 100).all()
    assert (shown.ci_low <= shown.value + 1e-9).all() and (shown.value <= shown.ci_high + 1e-9).all()
    hidden = cells[cells.suppressed]
    assert hidden[["value", "n", "ci_low", "ci_high", "rank"]].isna().all().all()
    # SIPAS is the mean of its parts, computed before suppression: check on an unsuppressed run
    raw = compute_indices(df, threshold=1).to_pandas()
    keys = ["level", "unit_code", "service", "breakdown", "group", "indicator"]
    small = raw[raw.n < threshold][keys].merge(cells[keys + ["suppressed"]], on=keys)
    assert len(small) == (raw.n < threshold).sum() and small.suppressed.all()  # every small cell withheld
    m = M17 if df.year.iloc[0] < 2022 else M22
    parts = [f"element:{e.id}" for e in m.elements] if not m.aspects else [f"aspect:{a.id}" for a in m.aspects]
    keys = ["level", "unit_code", "service", "breakdown", "group"]
    # (a part no form answered has no cell at all: a column of NaN here, so the row is skipped)
    wide = (raw[raw.indicator.isin(parts + ["sipas"])].pivot_table(index=keys, columns="indicator", values="value")
            .reindex(columns=parts + ["sipas"]))
    present = wide[parts].notna().all(axis=1)
    assert np.allclose(wide.loc[present, parts].mean(axis=1), wide.loc[present, "sipas"], atol=1e-9)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(form_sets())
def test_parent_n_is_the_sum_of_children_n(df):
    cells = compute_indices(df, threshold=1).to_pandas()
    allc = cells[(cells.breakdown == "all")]
    for indicator in ("sipas", "item:access_1", "element:feedback"):
        province = _values(allc, level="province", indicator=indicator, service="all")
        districts = _values(allc, level="district", indicator=indicator, service="all")
        if len(province):
            assert int(province.n.iloc[0]) == int(districts.n.sum())
        for d in districts.itertuples():
            communes = _values(allc, level="commune", indicator=indicator, service="all", parent_code=d.unit_code)
            at_district = _values(allc, level="district", indicator=indicator, service="id_card", unit_code=d.unit_code)
            assert d.n == communes.n.sum() + at_district.n.sum()
    # profile groups add up to the unit (every form has a gender here)
    sipas = cells[(cells.indicator == "sipas") & (cells.service == "all") & (cells.level == "province")]
    assert sipas[sipas.breakdown == "gender"].n.sum() == sipas[sipas.breakdown == "all"].n.sum()


@settings(max_examples=5, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(form_sets())
def test_rebuilding_from_the_same_forms_gives_identical_parquet(tmp_path, df):
    digests = []
    for attempt in range(2):
        shuffled = df.sample(frac=1, random_state=attempt)  # row order must not matter
        out = build_release(shuffled, tmp_path / f"r{attempt}", title="t", publisher="p", inputs=[], counts={},
                            threshold=5)
        digests.append(hashlib.sha256((out / INDICES).read_bytes()).hexdigest())
    assert digests[0] == digests[1]
