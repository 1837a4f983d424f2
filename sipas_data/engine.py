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
import time
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
    valid_if: str               # per-form condition: the form counts in the denominator
    hit_if: str                 # per-form condition: the form counts in the numerator

    @property
    def valid_sql(self) -> str:
        return f"coalesce({self.valid_if}, false)::INTEGER"

    @property
    def hit_sql(self) -> str:
        return f"coalesce({self.hit_if}, false)::INTEGER"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_list(values) -> str:
    return ", ".join(str(int(v)) for v in values)


def _member_sql(col: str, values) -> str:
    """``col`` is one of ``values``: a BETWEEN for a run of whole numbers (cheaper), else IN."""
    values = sorted(int(v) for v in values)
    if values == list(range(values[0], values[-1] + 1)):
        return f"{col} BETWEEN {values[0]} AND {values[-1]}"
    return f"{col} IN ({_sql_list(values)})"


def plan(m: Methodology) -> tuple[list[Proportion], list[Composite]]:
    """What to compute for scheme ``m``: the proportions and the composites, from the definition."""
    props: list[Proportion] = []
    for it in m.items():
        col = _q(it.id)
        props.append(Proportion(f"item:{it.id}", f"it_{it.id}", _member_sql(col, m.valid_answers),
                                _member_sql(col, m.satisfied_answers)))
    for opt in m.expectation_options:
        col = _q(f"expect_{opt.id}")
        if m.expectation_kind == "multi_select":
            # sipas-2017: share of respondents ticking the area; an unticked box is a "no".
            # sipas-2017: share of respondents ticking the area, among those who answered the
            # expectation block at all (a form with no box recorded did not answer it).
            block = ", ".join(_q(f"expect_{o.id}") for o in m.expectation_options)
            props.append(Proportion(f"expectation:{opt.id}", f"ex_{opt.id}",
                                    f"coalesce({block}) IS NOT NULL", f"coalesce({col}, 0) = 1"))
        else:
            levels = ", ".join(str(int(k)) for k in m.expectation_scale)
            high = _sql_list(m.expectation_high)
            props.append(Proportion(f"expectation:{opt.id}", f"ex_{opt.id}",
                                    f"{col} IN ({levels})", f"{col} IN ({high})"))
    for p in m.perceptions:
        col = _q(p.column)
        codes = _sql_list(o.code for o in p.options)
        for o in p.options:
            props.append(Proportion(f"perception:{p.id}:{o.id}", f"pc_{p.id}__{o.id}",
                                    f"{col} IN ({codes})", f"{col} = {int(o.code)}"))

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


def _scored_sql(m: Methodology, source: str, props, comps) -> list[str]:
    """Statements that build ``scored``: the forms plus one respondent-score column per
    composite (``sc_<stem>``). Element scores are materialised first, so the aspect and SIPAS
    scores above them read columns instead of repeating the element expressions."""
    by_stem = {p.column: p for p in props}
    el_cols, aspect_cols = [], []
    for c in comps:
        if c.parts[0].startswith("it_"):
            # share of the respondent's valid answers in the element that are satisfied
            hits = " + ".join(by_stem[s].hit_sql for s in c.parts)
            valids = " + ".join(by_stem[s].valid_sql for s in c.parts)
            el_cols.append(f"(({hits}) / nullif({valids}, 0))::DOUBLE AS sc_{c.column}")
        elif c.column != "sipas":
            aspect_cols.append(f"{_mean_sql([f'sc_{s}' for s in c.parts])} AS sc_{c.column}")
    sipas = next(c for c in comps if c.column == "sipas")
    sipas_expr = _mean_sql([f"sc_{s}" for s in sipas.parts])
    if (m.rules.get("sipas") == "mean_of_aspects" and m.rules.get("sipas_without_policy") == "services_aspect"
            and {"policy", "services"} <= {a.id for a in m.aspects}):
        # A services-only survey: SIPAS is the service aspect (SIPAS.md, configurable).
        sipas_expr = f"(CASE WHEN sc_as_policy IS NULL THEN sc_as_services ELSE {sipas_expr} END)"
    return [
        f"CREATE OR REPLACE TEMP TABLE scored_el AS SELECT *, {', '.join(el_cols)} "
        f"FROM {source} WHERE scheme = '{m.id}'",
        f"CREATE OR REPLACE TEMP VIEW scored_as AS SELECT * {''.join(', ' + c for c in aspect_cols)} FROM scored_el",
        f"CREATE OR REPLACE TEMP VIEW scored AS SELECT *, {sipas_expr} AS sc_sipas FROM scored_as",
    ]


def score_scale(comps: list[Composite]) -> int:
    """A whole number that turns every possible respondent score into an integer.

    An element score is hits / valid answers (a denominator up to the element's item count); an
    aspect or SIPAS score averages up to its part count of those. Scaled by the product of the
    least common multiples of those ranges, every score is exact in a BIGINT, so the sums of
    scores and squared scores are exact and independent of the order DuckDB adds them in:
    rebuilding from the same forms gives bit-identical output."""
    scale = 1
    for depth in ("it_", "el_", "as_"):
        widths = [len(c.parts) for c in comps if c.parts[0].startswith(depth)]
        if widths:
            scale *= math.lcm(*range(1, max(widths) + 1))
    return scale


def _grain_aggregates(props, comps, weighted: bool) -> list[str]:
    """Additive sums per cell. Unweighted surveys (the usual case) skip the weighted sums: the
    weighted denominators then equal the counts, and the cells read them as such. Unweighted
    sums are exact integers (see :func:`score_scale`); weighted ones are floating point."""
    aggs = []
    scale = score_scale(comps)
    for p in props:
        aggs.append(f"count_if({p.valid_sql} = 1) AS n_{p.column}")
        if weighted:
            aggs += [f"sum(CASE WHEN {p.valid_if} THEN weight ELSE 0 END) AS w_{p.column}",
                     f"sum(CASE WHEN {p.hit_if} THEN weight ELSE 0 END) AS h_{p.column}"]
        else:
            aggs.append(f"count_if({p.hit_sql} = 1)::DOUBLE AS h_{p.column}")
    for c in comps:
        s = f"sc_{c.column}"
        aggs.append(f"count({s}) AS n_{c.column}")
        if weighted:
            aggs += [f"sum(CASE WHEN {s} IS NOT NULL THEN weight ELSE 0 END) AS w_{c.column}",
                     f"sum(weight * {s}) AS s1_{c.column}", f"sum(weight * {s} * {s}) AS s2_{c.column}"]
        else:
            fixed = f"round({s} * {scale})::BIGINT"
            aggs += [f"sum({fixed}) AS s1_{c.column}", f"sum({fixed}::HUGEINT * {fixed}) AS s2_{c.column}"]
    return aggs


def _grain_sql(aggs: list[str], dim: str | None) -> str:
    """Sums per finest cell: for ``all`` (by commune or district agency) or for one profile
    dimension (by district). One query per grouping: DuckDB runs these faster one at a time
    than as GROUPING SETS, which update every set's hash table for every form."""
    if dim is None:
        keys = "year, province_code, district_code, commune_code, agency_level, service"
        return f"""SELECT {keys}, 'all' AS breakdown, 'all' AS grp, {', '.join(aggs)}
                   FROM scored GROUP BY {keys}"""
    keys = "year, province_code, district_code, service"
    return f"""SELECT {keys}, NULL::VARCHAR AS commune_code, NULL::VARCHAR AS agency_level,
                      '{dim}' AS breakdown, {dim}::VARCHAR AS grp, {', '.join(aggs)}
               FROM scored WHERE {dim} IS NOT NULL GROUP BY {keys}, {dim}"""


def _sum_columns(props, comps, weighted: bool) -> list[str]:
    cols = []
    for p in props:
        cols += [f"n_{p.column}", f"h_{p.column}"] + ([f"w_{p.column}"] if weighted else [])
    for c in comps:
        cols += [f"n_{c.column}", f"s1_{c.column}", f"s2_{c.column}"] + ([f"w_{c.column}"] if weighted else [])
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
            FROM grain WHERE district_code IS NOT NULL
            GROUP BY GROUPING SETS ((year, district_code, breakdown, grp, service),
                                    (year, district_code, breakdown, grp))""")
    if "province" in levels:
        parts.append(f"""
            SELECT year, 'province' AS level, province_code AS unit_code,
                   '{COUNTRY_CODE}' AS parent_code,
                   coalesce(service, 'all') AS service, breakdown, grp, {sums}
            FROM grain
            GROUP BY GROUPING SETS ((year, province_code, breakdown, grp, service),
                                    (year, province_code, breakdown, grp))""")
    return " UNION ALL ".join(parts)


def _wide_values_sql(props, comps, weighted: bool) -> str:
    """The rolled-up cells with each composite's value and three ordering keys.

    Composite values need their parts side by side, so they are computed here, in the wide
    table: one projection per depth (elements, then aspects, then SIPAS), so a composite reads
    its parts by name.
    ``major`` numbers the (year, level, parent, service) blocks, ``minor`` the rows within a
    block, and ``sib`` each set of siblings that are ranked against each other. Integers keep
    the big sort and the rank windows on the long table cheap."""
    item_value = {p.column: f"(100.0 * h_{p.column} / nullif({f'w_{p.column}' if weighted else f'n_{p.column}'}, 0))"
                  for p in props}
    sql = "SELECT * FROM cells_wide"
    for depth in ("it_", "el_", "as_"):
        layer = [c for c in comps if c.parts[0].startswith(depth)]
        if layer:
            cols = ", ".join(f"{_mean_sql([item_value.get(s) or f'v_{s}' for s in c.parts])} AS v_{c.column}"
                             for c in layer)
            sql = f"SELECT *, {cols} FROM ({sql})"
    return f"""
        SELECT *,
               dense_rank() OVER (ORDER BY year, level, parent_code, service) AS major,
               row_number() OVER (PARTITION BY year, level, parent_code, service
                                  ORDER BY breakdown, grp, unit_code) AS minor,
               dense_rank() OVER (ORDER BY year, level, parent_code, service, breakdown, grp) AS sib
        FROM ({sql})"""


def _indicator_sql(kind: str, ind: int, indicator: str, stem: str, weighted: bool, scale: int,
                   limit: int, scheme: str, basis: str) -> str:
    """The published rows of one indicator for every cell of ``wide``: n, value, interval,
    suppression and rank among siblings, ordered by block then row. Running one indicator at a
    time keeps every sort (the rank window, the order) small, and writing indicators one after
    another leaves the table clustered by indicator, then year, level, parent and service,
    which is what filtered reads need."""
    z, z2 = _Z, f"{Z95 * Z95!r}::DOUBLE"
    n = f"n_{stem}"
    w = f"w_{stem}" if weighted else n
    if kind == "proportion":
        p = f"(h_{stem} / {w})"
        centre = f"({p} + {z2} / (2.0 * {n}))"
        spread = f"{z} * sqrt({p} * (1 - {p}) / {n} + {z2} / (4.0 * {n} * {n}))"
        # Wilson score interval
        value = f"100.0 * {p}"
        low = f"greatest(0.0, 100.0 * ({centre} - {spread}) / (1 + {z2} / {n}))"
        high = f"least(100.0, 100.0 * ({centre} + {spread}) / (1 + {z2} / {n}))"
    else:
        mu = f"(s1_{stem}::DOUBLE / {scale} / {w})"
        # linearised: the standard error of the (weighted) mean respondent score
        half = f"(100.0 * {z} * sqrt(greatest(0.0, s2_{stem}::DOUBLE / {scale * scale} / {w} - {mu} * {mu})) / sqrt({n}))"
        value = f"v_{stem}"
        low, high = f"greatest(0.0, {value} - {half})", f"least(100.0, {value} + {half})"
    shown = f"{n} >= {limit}"
    return f"""
        SELECT year::SMALLINT AS year, '{scheme}' AS scheme, level, unit_code, parent_code, service,
               breakdown, grp AS "group", '{indicator}' AS indicator,
               CASE WHEN {shown} THEN {value} END AS value, {n}::BIGINT AS n,
               CASE WHEN {shown} THEN {low} END AS ci_low,
               CASE WHEN {shown} THEN {high} END AS ci_high,
               NOT ({shown}) AS suppressed,
               -- 1 = best among siblings; ties share the lower rank; suppressed cells unranked
               CASE WHEN {shown} THEN rank() OVER (
                   PARTITION BY sib, {shown} ORDER BY round({value}, 9) DESC)::INTEGER END AS rank,
               'computed' AS source, '{basis}' AS basis, NULL::VARCHAR AS note
        FROM wide WHERE {n} > 0
        ORDER BY major, minor"""


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


INDEX_TABLE_SQL = """(year SMALLINT, scheme VARCHAR, level VARCHAR, unit_code VARCHAR, parent_code VARCHAR,
    service VARCHAR, breakdown VARCHAR, "group" VARCHAR, indicator VARCHAR, value DOUBLE, n BIGINT,
    ci_low DOUBLE, ci_high DOUBLE, suppressed BOOLEAN, rank INTEGER, source VARCHAR, basis VARCHAR,
    note VARCHAR)"""


def compute_into(con: duckdb.DuckDBPyConnection, responses: pd.DataFrame | pa.Table, *, table: str = "indices",
                 threshold: int | None = None, levels: tuple[str, ...] = ("province", "district", "commune"),
                 breakdowns: tuple[str, ...] = PROFILE_DIMENSIONS, basis: str = "pooled",
                 timings: dict[str, float] | None = None, composites_only: bool = False) -> None:
    """Compute every published cell for the accepted forms in ``responses`` and append the rows
    to the DuckDB table ``table`` (created if needed, columns :data:`INDEX_COLUMNS`).

    ``threshold`` overrides the schemes' suppression threshold (default: each scheme's rule).
    ``basis`` labels the rows (``pooled``; ``restated`` for older years on the 2025 units).
    ``timings``, when given, collects seconds per stage: ``core`` (grain scan, roll-up and the
    values of every cell) and ``publish`` (intervals, suppression, ranks, the long table).
    ``composites_only`` publishes SIPAS, aspects and elements but not items, expectations or
    perceptions (used for the restated series, which serve trends of the headline indices)."""
    clock = time.perf_counter
    timings = timings if timings is not None else {}
    if isinstance(responses, pd.DataFrame):  # Arrow scans much faster than object columns
        responses = pa.Table.from_pandas(responses, preserve_index=False)
    con.register("forms_in", responses)
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} {INDEX_TABLE_SQL}")
    present = set(responses.column_names)
    schemes = [r[0] for r in con.execute("SELECT DISTINCT scheme FROM forms_in ORDER BY 1").fetchall()]
    for scheme_id in schemes:
        start = clock()
        m = get_methodology(scheme_id)
        props, comps = plan(m)
        con.execute(f"CREATE OR REPLACE TEMP VIEW forms AS {_forms_view_sql(m, present)}")
        dims = tuple(d for d in breakdowns if d in present)
        for statement in _scored_sql(m, "forms", props, comps):
            con.execute(statement)
        weighted = not con.execute("SELECT coalesce(bool_and(weight = 1.0), true) FROM scored").fetchone()[0]
        aggs = _grain_aggregates(props, comps, weighted)
        con.execute(f"CREATE OR REPLACE TEMP TABLE grain AS {_grain_sql(aggs, None)}")
        for dim in dims:
            con.execute(f"INSERT INTO grain BY NAME {_grain_sql(aggs, dim)}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE cells_wide AS "
                    f"{_rollup_sql(_sum_columns(props, comps, weighted), levels)}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE wide AS {_wide_values_sql(props, comps, weighted)}")
        middle = clock()
        timings["core"] = timings.get("core", 0.0) + middle - start
        limit = int(threshold if threshold is not None else m.suppression_threshold)
        scale = 1 if weighted else score_scale(comps)
        kinds = [] if composites_only else [("proportion", p.indicator, p.column) for p in props]
        kinds += [("composite", c.indicator, c.column) for c in comps]
        for i, (kind, indicator, stem) in enumerate(kinds):
            con.execute(f"INSERT INTO {table} "
                        f"{_indicator_sql(kind, i, indicator, stem, weighted, scale, limit, m.id, basis)}")
        for temp in ("wide", "cells_wide", "grain", "scored_el"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
        timings["publish"] = timings.get("publish", 0.0) + clock() - middle
    con.unregister("forms_in")


def compute_indices(responses: pd.DataFrame | pa.Table, *, threshold: int | None = None,
                    levels: tuple[str, ...] = ("province", "district", "commune"),
                    breakdowns: tuple[str, ...] = PROFILE_DIMENSIONS) -> pa.Table:
    """:func:`compute_into` a fresh in-memory database and return the rows as Arrow."""
    con = duckdb.connect()
    compute_into(con, responses, table="indices", threshold=threshold, levels=levels, breakdowns=breakdowns)
    return con.table("indices").to_arrow_table().cast(INDEX_SCHEMA)


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
