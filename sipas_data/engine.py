"""The index engine: accepted survey forms in, the long table of published cells out.

Everything is DuckDB SQL generated from the scheme definition, in three steps per scheme:

1. **Grain.** One scan of the forms with GROUPING SETS sums, per finest cell (year x commune or
   district agency x service, and year x district x service x profile group), the counts an index
   needs: valid and satisfied answers per item, and per composite (element, aspect, SIPAS) the
   number of respondents with a score and the first two moments of their scores.
2. **Roll-up.** Counts are additive, so communes, districts and provinces (with ``all`` services
   and each service) are sums over the small grain table, never averages of child indices: a
   district is computed from its respondents.
3. **Cells.** Item index = 100 x satisfied / valid; element = mean of its item indices; aspect =
   mean of its elements; SIPAS by the scheme's rule. Each cell gets n, a 95% interval (Wilson for
   items and other proportions; for composites a linearisation over respondent scores), the
   suppression flag and its rank among siblings.

The composite interval: a respondent's element score is the share of their valid answers in the
element that are satisfied; their aspect and SIPAS scores follow the same rule as the published
index. The standard error of the index is taken as that of the (weighted) mean of the respondent
scores. When every respondent answers every item this is exactly the linearised variance of the
published index; with missing answers it is the usual close approximation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa

from .methodology import PROFILE_DIMENSIONS, Methodology, get_methodology
from .schema import COUNTRY_CODE, INDEX_COLUMNS

Z95 = 1.959963984540054  # two-sided 95% normal quantile
_Z = f"{Z95!r}::DOUBLE"  # as a SQL literal (a bare literal would be a DECIMAL)


@dataclass(frozen=True)
class Composite:
    """An index built from others: an element (from items), an aspect (from elements) or SIPAS."""
    indicator: str          # e.g. "element:access"
    column: str             # SQL-safe stem, e.g. "el_access"
    parts: tuple[str, ...]  # stems of the parts whose indices are averaged


@dataclass(frozen=True)
class Proportion:
    """A share of respondents: an item, an expectation option or a perception option."""
    indicator: str
    column: str                 # stem for the sums
    valid_sql: str              # per-form 0/1: the form counts in the denominator
    hit_sql: str                # per-form 0/1: the form counts in the numerator


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_list(values) -> str:
    return ", ".join(str(int(v)) for v in values)


def plan(m: Methodology) -> tuple[list[Proportion], list[Composite]]:
    """What to compute for scheme ``m``: the proportions and the composites, from the definition."""
    valid, sat = _sql_list(m.valid_answers), _sql_list(m.satisfied_answers)
    props: list[Proportion] = []
    for it in m.items():
        col = _q(it.id)
        props.append(Proportion(f"item:{it.id}", f"it_{it.id}",
                                f"coalesce({col} IN ({valid}), false)::INTEGER",
                                f"coalesce({col} IN ({sat}), false)::INTEGER"))
    for opt in m.expectation_options:
        col = _q(f"expect_{opt.id}")
        if m.expectation_kind == "multi_select":
            # sipas-2017: share of respondents ticking the area; an unticked box is a "no".
            props.append(Proportion(f"expectation:{opt.id}", f"ex_{opt.id}", "1",
                                    f"(coalesce({col}, 0) = 1)::INTEGER"))
        else:
            levels = ", ".join(str(int(k)) for k in m.expectation_scale)
            high = _sql_list(m.expectation_high)
            props.append(Proportion(f"expectation:{opt.id}", f"ex_{opt.id}",
                                    f"coalesce({col} IN ({levels}), false)::INTEGER",
                                    f"coalesce({col} IN ({high}), false)::INTEGER"))
    for p in m.perceptions:
        col = _q(p.column)
        codes = _sql_list(o.code for o in p.options)
        for o in p.options:
            props.append(Proportion(f"perception:{p.id}:{o.id}", f"pc_{p.id}__{o.id}",
                                    f"coalesce({col} IN ({codes}), false)::INTEGER",
                                    f"coalesce({col} = {int(o.code)}, false)::INTEGER"))

    comps: list[Composite] = []
    for el in m.elements:
        comps.append(Composite(f"element:{el.id}", f"el_{el.id}", tuple(f"it_{it.id}" for it in el.items)))
    for a in m.aspects:
        comps.append(Composite(f"aspect:{a.id}", f"as_{a.id}",
                               tuple(f"el_{el.id}" for el in m.elements if el.aspect == a.id)))
    if m.rules.get("sipas") == "mean_of_aspects":
        comps.append(Composite("sipas", "sipas", tuple(f"as_{a.id}" for a in m.aspects)))
    else:
        comps.append(Composite("sipas", "sipas", tuple(f"el_{el.id}" for el in m.elements)))
    return props, comps


def _mean_sql(exprs: list[str]) -> str:
    """Mean of the non-null expressions (NULL when all are NULL)."""
    total = " + ".join(f"coalesce({e}, 0)" for e in exprs)
    count = " + ".join(f"({e} IS NOT NULL)::INTEGER" for e in exprs)
    return f"(({total}) / nullif({count}, 0))"


def _respondent_scores(m: Methodology, props: list[Proportion], comps: list[Composite]) -> dict[str, str]:
    """Per-form SQL for each composite's respondent score (0..1, NULL when the form has no valid
    answer in it), built bottom-up like the published index."""
    by_stem = {p.column: p for p in props}
    scores: dict[str, str] = {}
    for c in comps:
        if c.parts[0].startswith("it_"):
            # share of the respondent's valid answers in the element that are satisfied
            hits = " + ".join(by_stem[s].hit_sql for s in c.parts)
            valids = " + ".join(by_stem[s].valid_sql for s in c.parts)
            scores[c.column] = f"(({hits}) / nullif({valids}, 0))"
        else:
            scores[c.column] = _mean_sql([scores[s] for s in c.parts])
    sipas = next(c for c in comps if c.column == "sipas")
    if m.rules.get("sipas") == "mean_of_aspects" and m.rules.get("sipas_without_policy") == "services_aspect":
        # A services-only survey: SIPAS is the service aspect (SIPAS.md, configurable).
        policy, services = scores.get("as_policy"), scores.get("as_services")
        if policy and services:
            scores["sipas"] = f"(CASE WHEN {policy} IS NULL THEN {services} ELSE {scores['sipas']} END)"
    del sipas
    return scores


def _grain_sql(m: Methodology, source: str, props, comps, dims: tuple[str, ...]) -> str:
    """One scan of the forms: sums per finest cell for ``all`` and each profile breakdown."""
    scores = _respondent_scores(m, props, comps)
    aggs = []
    for p in props:
        aggs += [f"sum({p.valid_sql}) AS n_{p.column}",
                 f"sum(weight * {p.valid_sql}) AS w_{p.column}",
                 f"sum(weight * {p.hit_sql}) AS h_{p.column}"]
    for c in comps:
        s = scores[c.column]
        aggs += [f"count({s}) AS n_{c.column}",
                 f"sum(CASE WHEN {s} IS NOT NULL THEN weight END) AS w_{c.column}",
                 f"sum(weight * {s}) AS s1_{c.column}",
                 f"sum(weight * {s} * {s}) AS s2_{c.column}"]
    dim_present = [d for d in dims]
    breakdown = "CASE " + " ".join(
        f"WHEN grouping({d}) = 0 THEN '{d}'" for d in dim_present) + " ELSE 'all' END" if dim_present else "'all'"
    group = "CASE " + " ".join(
        f"WHEN grouping({d}) = 0 THEN {d}::VARCHAR" for d in dim_present) + " ELSE 'all' END" if dim_present else "'all'"
    sets = ["(year, province_code, district_code, commune_code, agency_level, service)"]
    sets += [f"(year, province_code, district_code, service, {d})" for d in dim_present]
    return f"""
        SELECT year, province_code, district_code, commune_code, agency_level, service,
               {breakdown} AS breakdown, {group} AS grp,
               {', '.join(aggs)}
        FROM {source}
        WHERE scheme = '{m.id}'
        GROUP BY GROUPING SETS ({', '.join(sets)})
    """


def _sum_columns(props, comps) -> list[str]:
    cols = []
    for p in props:
        cols += [f"n_{p.column}", f"w_{p.column}", f"h_{p.column}"]
    for c in comps:
        cols += [f"n_{c.column}", f"w_{c.column}", f"s1_{c.column}", f"s2_{c.column}"]
    return cols


def _rollup_sql(sum_cols: list[str], levels: tuple[str, ...]) -> str:
    """Units at each level from the grain, with ``all`` services and each service."""
    sums = ", ".join(f"sum({c}) AS {c}" for c in sum_cols)
    parts = []
    if "commune" in levels:
        parts.append(f"""
            SELECT year, 'commune' AS level, commune_code AS unit_code,
                   coalesce(any_value(district_code), any_value(province_code)) AS parent_code,
                   coalesce(service, 'all') AS service, 'all' AS breakdown, 'all' AS grp, {sums}
            FROM grain WHERE breakdown = 'all' AND commune_code IS NOT NULL
            GROUP BY GROUPING SETS ((year, commune_code, service), (year, commune_code))""")
    if "district" in levels:
        parts.append(f"""
            SELECT year, 'district' AS level, district_code AS unit_code,
                   any_value(province_code) AS parent_code,
                   coalesce(service, 'all') AS service, breakdown, grp, {sums}
            FROM grain WHERE district_code IS NOT NULL AND grp IS NOT NULL
            GROUP BY GROUPING SETS ((year, district_code, breakdown, grp, service),
                                    (year, district_code, breakdown, grp))""")
    if "province" in levels:
        parts.append(f"""
            SELECT year, 'province' AS level, province_code AS unit_code,
                   '{COUNTRY_CODE}' AS parent_code,
                   coalesce(service, 'all') AS service, breakdown, grp, {sums}
            FROM grain WHERE grp IS NOT NULL
            GROUP BY GROUPING SETS ((year, province_code, breakdown, grp, service),
                                    (year, province_code, breakdown, grp))""")
    return " UNION ALL ".join(parts)


def _wilson(h: str, w: str, n: str) -> tuple[str, str, str]:
    """Value and Wilson 95% bounds (percent) from weighted hits/valid and the unweighted n."""
    p = f"({h} / nullif({w}, 0))"
    z, z2 = _Z, f"{Z95 * Z95!r}::DOUBLE"
    centre = f"(({p} + {z2} / (2.0 * {n})) / (1 + {z2} / {n}))"
    half = f"({z} * sqrt({p} * (1 - {p}) / {n} + {z2} / (4.0 * {n} * {n})) / (1 + {z2} / {n}))"
    return (f"(100.0 * {p})", f"greatest(0.0, 100.0 * ({centre} - {half}))",
            f"least(100.0, 100.0 * ({centre} + {half}))")


def _cells_sql(props, comps) -> str:
    """One row per cell and indicator (value, n, bounds), from the rolled-up sums."""
    values: dict[str, str] = {}
    structs = []
    for p in props:
        n = f"n_{p.column}"
        v, lo, hi = _wilson(f"h_{p.column}", f"w_{p.column}", n)
        values[p.column] = f"(CASE WHEN {n} > 0 THEN {v} END)"
        structs.append((p.indicator, values[p.column], n, lo, hi))
    for c in comps:
        values[c.column] = _mean_sql([values[s] for s in c.parts])
        n, w = f"n_{c.column}", f"w_{c.column}"
        mean = f"(s1_{c.column} / nullif({w}, 0))"
        sd = f"sqrt(greatest(0.0, s2_{c.column} / nullif({w}, 0) - {mean} * {mean}))"
        half = f"(100.0 * {_Z} * {sd} / sqrt(nullif({n}, 0)))"
        v = f"v_{c.column}"
        structs.append((c.indicator, v, n, f"greatest(0.0, {v} - {half})", f"least(100.0, {v} + {half})"))
    # Composite values are computed once in a projection and referenced by name above.
    comp_cols = ", ".join(f"{values[c.column]} AS v_{c.column}" for c in comps)
    items = ", ".join(
        f"{{'indicator': '{ind}', 'value': {v}, 'n': {n}, 'ci_low': {lo}, 'ci_high': {hi}}}"
        for ind, v, n, lo, hi in structs)
    return f"""
        WITH c AS (SELECT *, {comp_cols} FROM cells_wide)
        SELECT year, level, unit_code, parent_code, service, breakdown, grp AS "group",
               unnest([{items}], recursive := true)
        FROM c
    """


_TEXT_COLUMNS = ("year", "scheme", "province_code", "district_code", "commune_code", "agency_level",
                 "service", *PROFILE_DIMENSIONS)


def _forms_view_sql(m: Methodology, present: set[str]) -> str:
    """The forms with every column the plan reads; an optional column that is absent (not asked)
    reads as NULL, and a missing weight as 1, so the plan needs no special cases."""
    cols = []
    for c in _TEXT_COLUMNS:
        cols.append(_q(c) if c in present else f"NULL::VARCHAR AS {_q(c)}")
    cols.append("coalesce(weight, 1.0)::DOUBLE AS weight" if "weight" in present else "1.0::DOUBLE AS weight")
    answers = [*m.item_ids(), *m.expectation_columns(), *(p.column for p in m.perceptions)]
    for c in answers:
        cols.append(f"{_q(c)}::TINYINT AS {_q(c)}" if c in present else f"NULL::TINYINT AS {_q(c)}")
    return f"SELECT {', '.join(cols)} FROM forms_in"


def compute_indices(responses: pd.DataFrame | pa.Table, *, threshold: int | None = None,
                    levels: tuple[str, ...] = ("province", "district", "commune"),
                    breakdowns: tuple[str, ...] = PROFILE_DIMENSIONS,
                    con: duckdb.DuckDBPyConnection | None = None) -> pa.Table:
    """Compute every published cell for the accepted forms in ``responses``.

    ``threshold`` overrides the schemes' suppression threshold (default: each scheme's rule).
    Returns an Arrow table with :data:`INDEX_COLUMNS`, sorted for fast filtered reads.
    """
    con = con or duckdb.connect()
    con.register("forms_in", responses)
    present = {c for c in (responses.column_names if isinstance(responses, pa.Table) else responses.columns)}
    schemes = [r[0] for r in con.execute("SELECT DISTINCT scheme FROM forms_in ORDER BY 1").fetchall()]
    outputs = []
    for scheme_id in schemes:
        m = get_methodology(scheme_id)
        props, comps = plan(m)
        con.execute(f"CREATE OR REPLACE TEMP VIEW forms AS {_forms_view_sql(m, present)}")
        dims = tuple(d for d in breakdowns if d in present)
        con.execute(f"CREATE OR REPLACE TEMP TABLE grain AS {_grain_sql(m, 'forms', props, comps, dims)}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE cells_wide AS {_rollup_sql(_sum_columns(props, comps), levels)}")
        limit = int(threshold if threshold is not None else m.suppression_threshold)
        outputs.append(f"""
            SELECT year::SMALLINT AS year, '{m.id}' AS scheme, level, unit_code, parent_code, service,
                   breakdown, "group", indicator,
                   CASE WHEN n >= {limit} THEN value END AS value,
                   n::BIGINT AS n,
                   CASE WHEN n >= {limit} THEN ci_low END AS ci_low,
                   CASE WHEN n >= {limit} THEN ci_high END AS ci_high,
                   n < {limit} AS suppressed
            FROM ({_cells_sql(props, comps)}) WHERE n > 0""")
        con.execute(f"CREATE OR REPLACE TEMP TABLE out_{len(outputs)} AS {outputs[-1]}")
    if not outputs:
        return empty_indices()
    union = " UNION ALL ".join(f"SELECT * FROM out_{i + 1}" for i in range(len(outputs)))
    result = con.sql(f"""
        SELECT year, scheme, level, unit_code, parent_code, service, breakdown, "group", indicator,
               value, n, ci_low, ci_high, suppressed,
               CASE WHEN NOT suppressed THEN rank() OVER (
                   PARTITION BY year, level, parent_code, service, breakdown, "group", indicator, suppressed
                   ORDER BY round(value, 9) DESC)::INTEGER END AS rank,
               'computed' AS source, 'pooled' AS basis, NULL::VARCHAR AS note
        FROM ({union})
        ORDER BY year, level, parent_code, service, indicator, breakdown, "group", unit_code
    """).to_arrow_table()
    return result.cast(INDEX_SCHEMA)


INDEX_SCHEMA = pa.schema([
    ("year", pa.int16()), ("scheme", pa.string()), ("level", pa.string()), ("unit_code", pa.string()),
    ("parent_code", pa.string()), ("service", pa.string()), ("breakdown", pa.string()),
    ("group", pa.string()), ("indicator", pa.string()), ("value", pa.float64()), ("n", pa.int64()),
    ("ci_low", pa.float64()), ("ci_high", pa.float64()), ("suppressed", pa.bool_()),
    ("rank", pa.int32()), ("source", pa.string()), ("basis", pa.string()), ("note", pa.string()),
])
assert tuple(INDEX_SCHEMA.names) == INDEX_COLUMNS


def empty_indices() -> pa.Table:
    return INDEX_SCHEMA.empty_table()


def wilson_interval(hits: float, n: float) -> tuple[float, float]:
    """Wilson 95% interval in percent (for tests and for official figures with a known n)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = hits / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return (max(0.0, 100 * (centre - half)), min(100.0, 100 * (centre + half)))
