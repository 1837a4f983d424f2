"""The built-in demo release: realistic, deterministic forms for Đồng Tháp.

Forms are drawn from a simple model with believable structure, not from real answers:
each unit has a lasting quality (districts and communes differ), services differ (birth
registration is liked more than land certificates), elements differ (handling of feedback
scores lowest, civil servants highest), the index drifts upward over the years and drops where
the method changed in 2022, and profile groups differ a little (older people are more satisfied,
graduates less). A few small communes return fewer than 30 forms, so their cells are suppressed.
Years 2018–2024 use the pre-reform units of Đồng Tháp (87: 12 districts, 141 communes) and
2025 the 102 communes of the new Đồng Tháp (82). The release's manifest says it is a demo.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import calendar
from .scheme import PROFILE_DIMENSIONS, scheme_for_year
from .schema import response_columns
from .scheme import builtin_schemes

SEED = 20241
DEMO_ID = "demo-dong-thap"
DEMO_YEARS = tuple(range(2018, 2026))
PROVINCE = {"2019": "87", "2025": "82"}  # Đồng Tháp in each vintage
OFFICIAL_CSV = Path(__file__).parent / "demo" / "official_national.csv"

SERVICE_EFFECT = {"id_card": 0.45, "land_certificate": -0.55, "construction_permit": -0.25,
                  "marriage": 0.35, "birth": 0.6, "certification": 0.15}
ELEMENT_EFFECT = {"access": 0.15, "procedures": 0.0, "civil_servants": 0.4, "results": 0.3,
                  "feedback": -0.65, "accountability": -0.25, "participation": -0.55,
                  "policy_quality": 0.05, "policy_impact": -0.1}
PROFILE_SHARES = {
    "gender": ({"male": 0.48, "female": 0.52}, {"male": -0.03, "female": 0.04}),
    "age_group": ({"18-29": 0.2, "30-44": 0.35, "45-59": 0.3, "60+": 0.15},
                  {"18-29": -0.2, "30-44": -0.05, "45-59": 0.05, "60+": 0.3}),
    "education": ({"primary": 0.25, "lower_secondary": 0.3, "upper_secondary": 0.25, "vocational": 0.1,
                   "university": 0.1}, {"primary": 0.15, "lower_secondary": 0.05, "upper_secondary": 0.0,
                                         "vocational": -0.1, "university": -0.3}),
    "occupation": ({"farmer": 0.4, "worker": 0.15, "business": 0.2, "public_employee": 0.07, "student": 0.03,
                    "retired": 0.05, "other": 0.1}, {"farmer": 0.1, "worker": -0.05, "business": -0.1,
                                                       "public_employee": 0.05, "student": -0.15,
                                                       "retired": 0.25, "other": 0.0}),
    "ethnicity": ({"kinh": 0.97, "other": 0.03}, {"kinh": 0.0, "other": -0.15}),
}


def _year_level(year: int) -> float:
    """Baseline log-odds of satisfaction: rising each year, dropping where the method changed."""
    start = scheme_for_year(year).first_year
    if start <= DEMO_YEARS[0]:  # the scheme the demo begins under
        return 1.35 + 0.1 * (year - DEMO_YEARS[0])
    return 1.1 + 0.12 * (year - start)


def _units(year: int):
    from geo.registry import units

    vintage = calendar.vintage_for_year(year)
    province, reg = PROVINCE[vintage], units(vintage)
    communes = reg[(reg.level == "commune") & (reg.province_code == province)].sort_values("code")
    if calendar.has_districts(year):
        districts = reg[(reg.level == "district") & (reg.province_code == province)].sort_values("code")
        return province, districts, communes
    return province, reg.iloc[0:0], communes


def _stable_effects(codes, scale: float, salt: int) -> dict[str, float]:
    """A lasting quality per unit, the same in every year and every run."""
    out = {}
    for code in codes:
        rng = np.random.default_rng([SEED, salt, int(code)])
        out[code] = float(rng.normal(0, scale))
    return out


def generate_forms(years=DEMO_YEARS) -> pd.DataFrame:
    """The demo's forms, one row per form, in the canonical responses layout."""
    frames = [_forms_for_year(year) for year in years]
    cols = response_columns(list(builtin_schemes().values()))
    df = pd.concat(frames, ignore_index=True)
    for c in cols:
        if c not in df.columns:
            df[c] = pd.array([pd.NA] * len(df), dtype="Int8")
    return df[cols]


def _forms_for_year(year: int) -> pd.DataFrame:
    m = scheme_for_year(year)
    rng = np.random.default_rng([SEED, year])
    province, districts, communes = _units(year)
    d_eff = _stable_effects(districts.code, 0.35, 1)
    # Communes keep their quality across the reform through a stable per-code draw; the new
    # communes of each later vintage get their own.
    c_eff = _stable_effects(communes.code, 0.3, 2 + calendar.vintage_ids().index(calendar.vintage_for_year(year)))
    sizes = _stable_effects(communes.code, 1.0, 4)

    # Who was served where: rows of (district, commune, service, agency level).
    blocks = []
    commune_services = [s for s in m.services if s.level == "commune"]
    district_services = [s for s in m.services if s.level == "district"]
    for c in communes.itertuples():
        # A few communes are small (suppressed); most return 15–40 forms per service.
        small = sizes[c.code] > 1.6
        lam = 6 if small else float(np.exp(np.log(22) + 0.35 * sizes[c.code]))
        services = commune_services + ([] if calendar.has_districts(year) else district_services)
        for s in services:
            n = int(rng.poisson(lam if s.level == "commune" else lam * 0.6))
            eff = d_eff.get(c.district_code, 0.0) + c_eff[c.code] + rng.normal(0, 0.1)
            blocks.append((n, c.district_code if calendar.has_districts(year) else None, c.code, s.id, "commune", eff))
    for d in districts.itertuples():
        for s in district_services:
            n = int(rng.poisson(110))
            blocks.append((n, d.code, None, s.id, "district", d_eff[d.code] + rng.normal(0, 0.08)))

    counts = np.array([b[0] for b in blocks])
    total = int(counts.sum())
    rep = lambda i: np.repeat([b[i] for b in blocks], counts)  # noqa: E731
    df = pd.DataFrame({
        "form_id": [f"DT{year}-{k:06d}" for k in range(1, total + 1)],
        "year": year, "scheme": m.id, "province_code": province,
        "district_code": rep(1), "commune_code": rep(2), "service": rep(3), "agency_level": rep(4),
    })
    logit = _year_level(year) + rep(5).astype(float)
    logit += np.array([SERVICE_EFFECT.get(s, 0.0) for s in df["service"]])
    for dim, (shares, effects) in PROFILE_SHARES.items():
        keys = list(shares)
        draw = rng.choice(len(keys), size=total, p=np.array(list(shares.values())))
        df[dim] = np.array(keys, dtype=object)[draw]
        logit += np.array([effects[k] for k in keys])[draw]
    logit += rng.normal(0, 0.7, total)  # the respondent's own disposition
    df["weight"] = 1.0
    df["collected_on"] = (pd.Timestamp(f"{year}-09-01")
                          + pd.to_timedelta(rng.integers(0, 75, total), unit="D")).strftime("%Y-%m-%d")
    df["channel"] = "buu_dien"

    item_rng = np.random.default_rng([SEED, 99])
    for it in m.items(year):
        el_eff = ELEMENT_EFFECT.get(it.element, 0.0) + float(item_rng.normal(0, 0.15))
        p = 1 / (1 + np.exp(-(logit + el_eff)))
        sat = rng.random(total) < p
        answer = np.where(sat, np.where(rng.random(total) < 0.3, 5, 4),
                          rng.choice([3, 3, 3, 2, 2, 1], size=total))
        missing = rng.random(total) < 0.03
        df[it.id] = pd.array(np.where(missing, 0, answer), dtype="Int8")
        df.loc[missing, it.id] = pd.NA

    base = 1 / (1 + np.exp(logit))  # less satisfied people ask for more
    if m.expectation_kind == "multi_select":
        wants = {"information": 0.25, "facilities": 0.3, "procedures": 0.45, "fees": 0.2,
                 "processing_time": 0.4, "attitude": 0.15, "competence": 0.12, "feedback": 0.18, "online": 0.22}
        for o in m.expectation_options:
            p = np.clip(wants.get(o.id, 0.2) + 0.5 * base, 0, 1)
            df[f"expect_{o.id}"] = pd.array((rng.random(total) < p).astype(int), dtype="Int8")
    elif m.expectation_kind == "rated":
        for k, o in enumerate(m.expectation_options):
            high = np.clip(0.45 + 0.04 * ((k * 7) % 5) + 0.4 * base, 0, 0.98)
            level = np.where(rng.random(total) < high, rng.choice([1, 2], size=total), 3)
            df[f"expect_{o.id}"] = pd.array(level, dtype="Int8")
    for q in m.perceptions:
        codes = [o.code for o in q.options]
        if q.id == "harassment":
            probs = np.stack([1 - 0.2 * base - 0.03, 0.17 * base + 0.025, 0.03 * base + 0.005], axis=1)
        elif q.id == "informal_payment":
            probs = np.stack([0.02 + 0.1 * base, 0.98 - 0.1 * base], axis=1)
        elif q.id == "willing_to_comment":
            probs = np.stack([np.full(total, 0.72), np.full(total, 0.28)], axis=1)
        else:
            online = 0.2 + 0.06 * (year - m.first_year)
            probs = np.tile([0.72 - online, 0.08, online], (total, 1))
        probs = probs / probs.sum(axis=1, keepdims=True)
        u = rng.random(total)[:, None]
        choice = (u > np.cumsum(probs, axis=1)).sum(axis=1)
        df[q.column] = pd.array(np.array(codes)[np.minimum(choice, len(codes) - 1)], dtype="Int8")
    return df


def build_demo(root: str | Path | None = None) -> Path:
    """(Re)build the demo release under ``root`` (default: the releases folder)."""
    from .build import build_release
    from .official import read_official
    from .release import default_root

    root = Path(root) if root else default_root()
    forms = generate_forms()
    official = read_official(OFFICIAL_CSV)
    if not official.ok:  # the shipped file is ours: a reject is a bug, not user input
        raise RuntimeError(official.rejects.to_string())
    inputs = [{"file": "generated by sipas_data.demo", "seed": SEED, "rows": len(forms)},
              {"file": OFFICIAL_CSV.name, "sha256": official.sha256, "rows": official.rows_read}]
    return build_release(
        forms, root / DEMO_ID, official=[official.rows],
        title="Dữ liệu minh họa: Đồng Tháp 2018–2025",
        publisher="SIPAS dashboard (dữ liệu minh họa / demo data)", inputs=inputs,
        counts={"forms_read": len(forms), "forms_accepted": len(forms), "forms_rejected": 0,
                "official_rows": len(official.rows)},
        demo=True)


__all__ = ["generate_forms", "build_demo", "DEMO_ID", "PROFILE_DIMENSIONS"]
