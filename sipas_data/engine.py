"""The index engine: accepted survey forms in, the long table of published cells out.

Everything is DuckDB SQL generated from the scheme definition, in three steps per scheme:

1. **Grain.** The per-form work is done once: each answer test evaluated once, the respondent
   scores of every composite (element, aspect, SIPAS) in exact fixed point, and the 0/1
   counters packed several to a DOUBLE (:class:`Packing`). Then one GROUP BY sums, per finest
   cell (year x commune or district agency x service), and one more for every profile
   breakdown at once (a grouping set each: year x district x service x profile group), what
   an index needs: valid and satisfied answers per item, and
   per composite the number of respondents with a score and the first two moments of their
   scores. Every aggregate keeps an 8-byte state, and every sum is exact.
2. **Roll-up.** Counts are additive, so communes, districts and provinces (with ``all`` services
   and each service) are sums over the small grain table, never averages of child indices: a
   district is computed from its respondents.
3. **Cells.** Item index = 100 x satisfied / valid; element = mean of its item indices; aspect =
   mean of its elements; SIPAS by the scheme's rule. Each cell gets n, a 95% interval (Wilson for
   items and other proportions; for composites a linearisation over respondent scores), the
   suppression flag and its rank among siblings (a vectorised sort, :func:`sibling_ranks`).

The composite interval: a respondent's element score is the share of their valid answers in the
element that are satisfied; their aspect and SIPAS scores follow the same rule as the published
index. The standard error of the index is taken as that of the (weighted) mean of the respondent
scores. When every respondent answers every item this is exactly the linearised variance of the
published index; with missing answers it is the usual close approximation.

Names in the generated SQL. Each indicator has a stem (:func:`plan`): ``it_<item>``,
``ex_<option>`` (expectations) and ``pc_<perception>__<option>`` for proportions,
``el_<element>``, ``as_<aspect>`` and ``sipas`` for composites. The columns made from a stem:

==================  ==============  ===========================================================
column              table           what it holds
==================  ==============  ===========================================================
``f_n_<stem>``      per form        1 when the form's answer counts in a proportion's
                                    denominator (valid), else 0 (:func:`_counters`)
``f_h_<stem>``      per form        1 when it counts in the numerator (satisfied, ticked), else 0
``sc_<stem>``       per form        a composite's respondent score times :func:`score_scale`
                                    (an exact whole number; NULL without a valid answer)
``gk_<k>``          per form, grain unweighted: several ``f_`` counters packed in one DOUBLE
                                    (:class:`Packing`), fields as wide as a grain cell needs;
                                    unpacked in the grain for the restated series
``pk_<k>``          roll-up         the same counts repacked in fields as wide as a province
                                    needs (:func:`_repack_sql`); unpacked into ``n_`` and
                                    ``h_`` after the roll-up
``x_<stem>``        per form        weighted: the hit flag where the answer is valid, else NULL
``n_<stem>``        grain, roll-up  valid answers (proportion), respondents with a score
                                    (composite)
``h_<stem>``        grain, roll-up  answers in the numerator (weighted: their summed weight)
``w_<stem>``        grain, roll-up  weighted: the summed weight behind ``n_<stem>``
``s1_<stem>``       grain, roll-up  sum of a composite's respondent scores (unweighted: in
                                    fixed point; weighted: weight times score)
``s2_<stem>``       grain, roll-up  sum of their squares (scaled alike)
``w_largest``       grain, roll-up  weighted: the cell's largest form weight (:data:`LARGEST_WEIGHT`)
``v_<stem>``        wide (NumPy)    a composite's value: the mean of its parts' values (an
                                    item's value, 100 x h / n, or / w, is computed where read)
==================  ==============  ===========================================================

The keys: ``cells_id`` numbers the finest cells (:data:`CELL_KEYS`, table ``cells``) and
``districts_id`` the district cells of the profile breakdowns (:data:`DISTRICT_KEYS`, table
``districts``), so the scans group by one integer; ``breakdown`` and ``grp`` are ``all`` or a
profile dimension and its group. The rolled-up cells leave DuckDB once, sorted, as the wide
table (:func:`_read_wide`): the packed counts are unpacked and the values, n, intervals and
weighted shares computed from its columns in NumPy (:func:`_indicator_numbers`).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .contracts import INDICES
from .disclosure import AdditiveSets, additive_sets, cell_sets, complementary_suppression
from .scheme import PROFILE_DIMENSIONS, Scheme, get_scheme
from .schema import COUNTRY_CODE

Z95 = 1.959963984540054  # two-sided 95% normal quantile


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
    answer: str | None = None   # the one answer column valid_if tests, if it tests one ...
    valid: tuple[int, ...] = () # ... for membership of these codes


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


def plan(m: Scheme) -> tuple[list[Proportion], list[Composite]]:
    """What to compute for scheme ``m``: the proportions and the composites, from the definition."""
    props: list[Proportion] = []
    for it in m.items():
        col = _q(it.id)
        props.append(Proportion(f"item:{it.id}", f"it_{it.id}", _member_sql(col, m.valid_answers),
                                _member_sql(col, m.satisfied_answers), it.id, tuple(m.valid_answers)))
    for opt in m.expectation_options:
        col = _q(f"expect_{opt.id}")
        if m.expectation_kind == "multi_select":
            # sipas-2017: share of respondents ticking the area, among those who answered the
            # expectation block at all (a form with no box recorded did not answer it); an
            # unticked box is a "no".
            block = ", ".join(_q(f"expect_{o.id}") for o in m.expectation_options)
            props.append(Proportion(f"expectation:{opt.id}", f"ex_{opt.id}",
                                    f"coalesce({block}) IS NOT NULL", f"coalesce({col}, 0) = 1"))
        else:
            levels = ", ".join(str(int(k)) for k in m.expectation_scale)
            high = _sql_list(m.expectation_high)
            props.append(Proportion(f"expectation:{opt.id}", f"ex_{opt.id}",
                                    f"{col} IN ({levels})", f"{col} IN ({high})", f"expect_{opt.id}",
                                    tuple(int(k) for k in m.expectation_scale)))
    for p in m.perceptions:
        col = _q(p.column)
        codes = _sql_list(o.code for o in p.options)
        for o in p.options:
            props.append(Proportion(f"perception:{p.id}:{o.id}", f"pc_{p.id}__{o.id}",
                                    f"{col} IN ({codes})", f"{col} = {int(o.code)}", p.column,
                                    tuple(int(o.code) for o in p.options)))

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


def _int_mean_sql(exprs: list[str]) -> str:
    """Whole-number mean of the non-null whole-number expressions (NULL when all are NULL); exact
    for respondent scores in fixed point (see :func:`score_scale`)."""
    total = " + ".join(f"coalesce({e}, 0)" for e in exprs)
    count = " + ".join(f"({e} IS NOT NULL)::INTEGER" for e in exprs)
    return f"(({total}) // nullif({count}, 0))"


def _scored_sql(m: Scheme, source: str, props, comps, plain: set[str]) -> str:
    """The forms of scheme ``m`` (the query ``source``) plus one respondent-score column per
    composite (``sc_<stem>``), in fixed point:
    the score times :func:`score_scale`, an exact INTEGER. A respondent's element score is the
    share of their valid answers in the element that are satisfied; their aspect and SIPAS
    scores follow the published index's rule. Each depth is one projection over the one below,
    so an aspect reads its elements' columns instead of repeating their expressions.

    The first projection evaluates each proportion's two 0/1 counters (see :func:`_counters`)
    once, as ``f_n_<stem>`` and ``f_h_<stem>``: element scores add them up, and the packed
    columns (see :class:`Packing`) move them into place.

    The counters are DOUBLEs: DuckDB checks every BIGINT sum and product for overflow, and
    this projection is most of the per-form work (DOUBLE counters skip those checks).
    Every value stays a whole number under 2**53, so DOUBLE arithmetic is exact here: an
    element's hits times the scale, and the quotient, which is whole by the choice of scale."""
    scale = score_scale(comps)
    score_type = "INTEGER" if scale < 2**31 else "BIGINT"  # a score is at most the scale
    widest = max((len(c.parts) for c in comps if c.parts[0].startswith("it_")), default=1)
    counter_type = "DOUBLE" if widest * scale < 2**53 else "BIGINT"
    el_cols, aspect_cols = [], []
    for c in comps:
        if c.parts[0].startswith("it_"):
            hits = " + ".join(f"f_h_{stem}" for stem in c.parts)
            valids = " + ".join(f"f_n_{stem}" for stem in c.parts)
            el_cols.append(f"((({hits}) * {scale}) // nullif({valids}, 0))::{score_type} AS sc_{c.column}")
        elif c.column != "sipas":
            aspect_cols.append(f"{_int_mean_sql([f'sc_{s}' for s in c.parts])}::{score_type} AS sc_{c.column}")
    sipas = next(c for c in comps if c.column == "sipas")
    sipas_expr = _int_mean_sql([f"sc_{s}" for s in sipas.parts])
    if (m.rules.get("sipas") == "mean_of_aspects" and m.rules.get("sipas_without_policy") == "services_aspect"
            and {"policy", "services"} <= {a.id for a in m.aspects}):
        # A services-only survey: SIPAS is the service aspect (the scheme's rule
        # ``sipas_without_policy``, e.g. sipas_data/methodologies/sipas-2022.json).
        sipas_expr = f"(CASE WHEN sc_as_policy IS NULL THEN sc_as_services ELSE {sipas_expr} END)"
    flags = ", ".join(f"({test})::{counter_type} AS f_{name}" for name, test in _counters(props, plain))
    sql = f"SELECT *, {flags} FROM {source}"
    sql = f"SELECT *, {', '.join(el_cols)} FROM ({sql})"
    if aspect_cols:
        sql = f"SELECT *, {', '.join(aspect_cols)} FROM ({sql})"
    return f"SELECT *, ({sipas_expr})::{score_type} AS sc_sipas FROM ({sql})"


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


def _answers_always_valid(con: duckdb.DuckDBPyConnection, props, scheme: str) -> set[str]:
    """The answer columns in which every recorded answer is a valid one, so that "answered"
    and "valid" are the same test. One cheap pass of min/max; for those columns a cell's
    denominator is a plain count of answers, and no per-form flag is needed."""
    ranges = {}
    for p in props:
        codes = sorted(set(p.valid))
        if p.answer and codes and codes == list(range(codes[0], codes[-1] + 1)):
            ranges[p.answer] = (codes[0], codes[-1])
    if not ranges:
        return set()
    names = list(ranges)
    row = con.execute(f"SELECT {', '.join(f'min({_q(c)}), max({_q(c)})' for c in names)} "
                      f"FROM forms WHERE scheme = '{scheme}'").fetchone()
    return {c for i, c in enumerate(names)
            if row[2 * i] is None or (row[2 * i] >= ranges[c][0] and row[2 * i + 1] <= ranges[c][1])}


@dataclass(frozen=True)
class Packing:
    """How an unweighted survey's proportion counts travel from the forms to the cells: several
    0/1 counters per DOUBLE, each in its own ``bits``-wide field, so that one sum adds several
    counts at once (fewer aggregates per scan, narrower grain and roll-up tables).

    Exact by construction: ``bits`` holds the largest count any published cell can reach (the
    forms of the biggest province), so no field carries into the next, and ``per_column``
    fields fill at most 52 bits, so every partial sum is a whole number below 2**53, which a
    DOUBLE adds exactly, in any order."""
    bits: int
    per_column: int

    @staticmethod
    def for_largest(count: int) -> "Packing":
        bits = max(1, int(count).bit_length())
        return Packing(bits, max(1, 52 // bits))


def _counters(props, plain: set[str]) -> list[tuple[str, str]]:
    """Each proportion's two per-form 0/1 counters, as (sum column, SQL test): valid, and hit.
    ``x IS TRUE`` and ``x IS NOT NULL`` never yield NULL, so the tests need no ``coalesce``
    (which costs several times as much); where an answer column holds only valid answers
    (``plain``), "valid" is just "answered"."""
    out = []
    for p in props:
        valid = f"{_q(p.answer)} IS NOT NULL" if p.answer in plain else f"({p.valid_if}) IS TRUE"
        out += [(f"n_{p.column}", valid), (f"h_{p.column}", f"({p.hit_if}) IS TRUE")]
    return out


def _packed_columns(counters, packing: Packing, prefix: str = "pk") -> list[tuple[str, list[tuple[str, int]]]]:
    """The packed columns: (name, [(sum column, bit shift), ...])."""
    return [(f"{prefix}_{i // packing.per_column}",
             [(name, packing.bits * k) for k, (name, _) in enumerate(counters[i:i + packing.per_column])])
            for i in range(0, len(counters), packing.per_column)]


def _per_form_columns(props, comps, packed_columns) -> list[str]:
    """What each form contributes, computed once (into the ``scored`` table that every grouping
    then only sums, or streamed into the one grouping there is).

    Both read the 0/1 counters that :func:`_scored_sql` evaluated once per form. Unweighted
    (``packed_columns``): the counters packed into DOUBLEs (see :class:`Packing`). Weighted: each
    proportion is one FLOAT per form, 1 when the answer counts in the numerator, 0 when it is
    valid but not, NULL when it does not count at all; a cell's n is then ``count()`` and its
    weighted hits ``sum(weight * x)``. The respondent scores are INTEGERs.

    Every aggregate here keeps an 8-byte state: DuckDB's ``count_if`` and integer ``sum`` keep
    16 bytes and update several times slower."""
    cols = []
    if packed_columns:
        for name, fields in packed_columns:
            terms = [f"f_{c}" + (f" * {1 << shift}" if shift else "") for c, shift in fields]
            cols.append(f"({' + '.join(f'({t})' for t in terms)})::DOUBLE AS {name}")
    else:  # the hit flag where the answer is valid, else NULL
        cols += [f"(CASE WHEN f_n_{p.column} = 1 THEN f_h_{p.column} END)::FLOAT AS x_{p.column}" for p in props]
    cols += [f"sc_{c.column}" for c in comps]
    return cols


def _grain_aggregates(props, comps, weighted: bool, scale: int, exact_doubles: bool,
                      packed: list[str]) -> list[str]:
    """Additive sums per cell. Unweighted surveys (the usual case) skip the weighted sums: the
    weighted denominators then equal the counts, and the cells read them as such.

    Unweighted sums are exact: the packed counters (see :class:`Packing`), and sums of
    whole-number scores (see :func:`score_scale`) as DOUBLEs, which add whole numbers exactly,
    in any order, while every partial sum stays under 2**53 (``exact_doubles``: the largest
    cell is small enough for the sums of squares too; otherwise those are summed as 128-bit
    integers). Weighted sums are floating point."""
    aggs = [f"sum({name}) AS {name}" for name in packed]
    if weighted:
        aggs.append(f"max(weight) AS {LARGEST_WEIGHT}")
        for p in props:
            x = f"x_{p.column}"
            aggs += [f"count({x}) AS n_{p.column}",
                     f"coalesce(sum(CASE WHEN {x} IS NOT NULL THEN weight END), 0) AS w_{p.column}",
                     f"coalesce(sum(weight * {x}), 0) AS h_{p.column}"]
    for c in comps:
        s = f"sc_{c.column}"
        aggs.append(f"count({s}) AS n_{c.column}")
        if weighted:
            aggs += [f"coalesce(sum(CASE WHEN {s} IS NOT NULL THEN weight END), 0) AS w_{c.column}",
                     f"coalesce(sum(weight * {s}::DOUBLE / {scale}), 0) AS s1_{c.column}",
                     f"coalesce(sum(weight * {s}::DOUBLE * {s} / {scale * scale}), 0) AS s2_{c.column}"]
        else:
            square = f"{s}::DOUBLE * {s}" if exact_doubles else f"{s}::BIGINT * {s}"
            aggs += [f"coalesce(sum({s}::DOUBLE), 0) AS s1_{c.column}", f"coalesce(sum({square}), 0) AS s2_{c.column}"]
    return aggs


def _unpack_sql(packed_columns, packing: Packing) -> str:
    """The counts out of packed sums (whole numbers below 2**53, so the BIGINT cast is exact)."""
    cols = []
    for name, fields in packed_columns:
        for count, shift in fields:
            word = f"{name}::BIGINT" + (f" >> {shift}" if shift else "")
            cols.append(f"(({word}) & {(1 << packing.bits) - 1})::DOUBLE AS {count}")
    return ", ".join(cols)


def _repack_sql(grain_columns, grain_packing: Packing, packed_columns) -> str:
    """The grain's packed sums (laid out as ``grain_columns``, fields of ``grain_packing``'s
    width) repacked as ``packed_columns``, in fields as wide as the largest published cell
    needs: each count moved from its field to its new one. Whole numbers below 2**53 (the
    BIGINT casts are exact) that occupy separate bits (the additions never carry)."""
    field_of = {count: (name, shift) for name, fields in grain_columns for count, shift in fields}
    mask = (1 << grain_packing.bits) - 1
    cols = []
    for name, fields in packed_columns:
        terms = []
        for count, shift in fields:
            word, at = field_of[count]
            field = f"(({word}::BIGINT" + (f" >> {at}" if at else "") + f") & {mask})"
            terms.append(f"({field} << {shift})" if shift else field)
        cols.append(f"({' + '.join(terms)})::DOUBLE AS {name}")
    return ", ".join(cols)


def _sum_columns(props, comps, weighted: bool, packed: list[str]) -> list[str]:
    cols = list(packed)
    if weighted:
        cols.append(LARGEST_WEIGHT)
        for p in props:
            cols += [f"n_{p.column}", f"h_{p.column}", f"w_{p.column}"]
    for c in comps:
        cols += [f"n_{c.column}", f"s1_{c.column}", f"s2_{c.column}"] + ([f"w_{c.column}"] if weighted else [])
    return cols


# A weighted cell where one form carries more than this share of the weight is withheld: one
# respondent would carry the cell (the share of the largest weight among all of the cell's forms
# against the weight of those that answered: never less strict than the answering forms alone).
DOMINANT_WEIGHT_SHARE = 0.5
LARGEST_WEIGHT = "w_largest"  # the column of a weighted cell's largest form weight

CELL_KEYS = ("year", "province_code", "district_code", "commune_code", "agency_level", "service")
DISTRICT_KEYS = ("year", "province_code", "district_code", "service")
# Aggregates per scan of the per-form table: an unweighted survey's (about 70, the counts
# packed) in one scan, which is fastest (each further scan reads the table again, and its sums
# are joined on the cell); a weighted survey's several hundred in a few, since DuckDB slows down sharply when one hash
# table carries hundreds.
AGGREGATES_PER_SCAN = 128


def _key_table_sql(name: str, counted: str) -> str:
    """Numbers the rows of ``counted`` (distinct keys with their number of forms): the scans
    group by that one integer instead of several text columns (much cheaper for DuckDB's hash
    tables)."""
    return (f"CREATE OR REPLACE TEMP TABLE {name} AS "
            f"SELECT row_number() OVER ()::INTEGER AS {name}_id, * FROM ({counted})")


def _text_sql(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _group_code_sql(dim: str, groups: list[str]) -> str:
    """A form's group in the profile dimension ``dim`` as its position among ``groups`` (from 1;
    NULL without a group): a small whole number is much cheaper to sort and to group by than
    a text, and :func:`_group_text_sql` turns it back into the group's text in the grain."""
    whens = " ".join(f"WHEN {_text_sql(g)} THEN {i}" for i, g in enumerate(groups, 1))
    code_type = "UTINYINT" if len(groups) < 2**8 else "INTEGER"
    return f"(CASE {_q(dim)}::VARCHAR {whens} END)::{code_type} AS {_q(dim)}" if groups \
        else f"NULL::UTINYINT AS {_q(dim)}"


def _group_text_sql(dim: str, groups: list[str]) -> str:
    """The text of the group coded by :func:`_group_code_sql`."""
    return f"([{', '.join(map(_text_sql, groups))}]::VARCHAR[])[{_q(dim)}]" if groups else "NULL::VARCHAR"


def _key_join_sql(name: str, keys: tuple[str, ...], source: str) -> str:
    return f"JOIN {name} ON " + " AND ".join(f"{name}.{k} IS NOT DISTINCT FROM {source}.{k}" for k in keys)


@contextmanager
def _grouping_sets_apart(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Within, DuckDB groups the rows by each grouping set on its own. Newer DuckDB versions
    (the ``grouping_sets`` optimizer) first group by the columns of all the sets together and
    then combine those groups' sums per set: here that first grouping is nearly as fine as
    the rows (a form's groups in all five profile dimensions; a grain cell's breakdown, group
    and service), so it only adds work. 1M forms: the profile breakdowns' scan 0.8 -> 0.6 s,
    the roll-up 1.4 -> 1.2 s of CPU. Only speed depends on this, never a result (the sums
    are exact). The connection's setting is restored on the way out."""
    known = con.execute("SELECT count(*) FROM duckdb_optimizers() WHERE name = 'grouping_sets'").fetchone()[0]
    before = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0] if known else ""
    if not known or "grouping_sets" in before.split(","):
        yield
        return
    con.execute(f"SET disabled_optimizers = '{','.join(o for o in (before, 'grouping_sets') if o)}'")
    try:
        yield
    finally:
        con.execute(f"SET disabled_optimizers = '{before}'")


def _grain(con: duckdb.DuckDBPyConnection, aggs: list[str], groups: dict[str, list[str]], name: str,
           per_scan: int) -> None:
    """Creates the table ``name`` of sums per finest cell: for ``all`` (no ``groups``: by commune
    or district agency) or for the profile dimensions ``groups`` names (by district and group,
    the group coded by :func:`_group_code_sql` among the dimension's groups).

    Every profile dimension is summed in the same scan (one grouping set per dimension), so
    each form's scores are read and converted once for all of them; a dimension's forms
    without a group (NULL) are left out. The aggregates run up to
    :data:`AGGREGATES_PER_SCAN` per scan of ``scored``, and the parts (if more than one) are
    joined on the cell."""
    dims = tuple(groups)
    if not dims:
        group, cell, keys, scan_from = "cells_id", "cells_id", "cells", "FROM scored GROUP BY cells_id"
    else:
        breakdown = " ".join(f"WHEN grouping({d}) = 0 THEN '{d}'" for d in dims)
        grp = " ".join(f"WHEN grouping({d}) = 0 THEN {_group_text_sql(d, g)}" for d, g in groups.items())
        group = f"districts_id, CASE {breakdown} END AS breakdown, CASE {grp} END AS grp"
        cell, keys = "districts_id, breakdown, grp", "districts"
        scan_from = f"FROM scored GROUP BY GROUPING SETS ({', '.join(f'(districts_id, {d})' for d in dims)})"
    scans = [f"SELECT {group}, {', '.join(aggs[i:i + per_scan])} {scan_from}" for i in range(0, len(aggs), per_scan)]
    if dims:
        scans = [f"SELECT * FROM ({scan}) WHERE grp IS NOT NULL" for scan in scans]
    parts = []
    if len(scans) > 1:
        for i, scan in enumerate(scans):
            parts.append(f"grain_part{i}")
            con.execute(f"CREATE OR REPLACE TEMP TABLE {parts[-1]} AS {scan}")
        sums = f"SELECT * FROM {parts[0]} " + " ".join(f"JOIN {t} USING ({cell})" for t in parts[1:])
    else:
        sums = scans[0]
    if not dims:
        select = (f"SELECT {', '.join(f'k.{c}' for c in CELL_KEYS)}, 'all' AS breakdown, 'all' AS grp, "
                  f"g.* EXCLUDE (cells_id)")
    else:
        select = (f"SELECT {', '.join(f'k.{c}' for c in DISTRICT_KEYS)}, NULL::VARCHAR AS commune_code, "
                  f"NULL::VARCHAR AS agency_level, g.* EXCLUDE (districts_id)")
    body = f"{select} FROM ({sums}) g JOIN {keys} k USING ({keys}_id)"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {body}")
    for t in parts:
        con.execute(f"DROP TABLE {t}")


def _rollup_sql(sum_cols: list[str], levels: tuple[str, ...], weighted: bool, grain: str = "grain",
                squares_exact: bool = False, districts_apart: bool = False) -> str:
    """Units at each level from the grain (the table or view ``grain``), with ``all`` services
    and each service.

    ``districts_apart``: no district code is used by two provinces in the same year. A profile
    breakdown's grain row (one per year, province, district, service, breakdown and group) is
    then already its district's cell for that service, and only the ``all`` services cells and
    the ``all`` breakdown's cells (from the communes and agencies) need grouping."""
    # Counts and sums of scores add exactly as DOUBLEs (whole numbers far under 2**53), which
    # DuckDB sums much faster than integers (those it adds in 128 bits); sums of squared scores
    # can pass 2**53 at province level and are then added as integers (``squares_exact``:
    # they cannot, for the largest unit).
    def summed(c: str, over_rows: bool = True) -> str:
        if c == LARGEST_WEIGHT:
            return f"max({c}) AS {c}" if over_rows else c
        value = f"{c}::HUGEINT" if c.startswith("s2_") and not (weighted or squares_exact) else f"{c}::DOUBLE"
        return f"sum({value}) AS {c}" if over_rows else f"{value} AS {c}"
    sums = ", ".join(map(summed, sum_cols))
    parts = []
    if "commune" in levels:
        parts.append(f"""
            SELECT year, 'commune' AS level, commune_code AS unit_code,
                   coalesce(any_value(district_code), any_value(province_code)) AS parent_code,
                   coalesce(service, 'all') AS service, 'all' AS breakdown, 'all' AS grp, {sums}
            FROM {grain} WHERE breakdown = 'all' AND commune_code IS NOT NULL
            GROUP BY GROUPING SETS ((year, commune_code, service), (year, commune_code))""")
    if "district" in levels:
        grouped = "breakdown = 'all' AND " if districts_apart else ""
        parts.append(f"""
            SELECT year, 'district' AS level, district_code AS unit_code,
                   any_value(province_code) AS parent_code,
                   coalesce(service, 'all') AS service, breakdown, grp, {sums}
            FROM {grain} WHERE {grouped}district_code IS NOT NULL
            GROUP BY GROUPING SETS ((year, district_code, breakdown, grp, service),
                                    (year, district_code, breakdown, grp))""")
        if districts_apart:
            as_they_are = ", ".join(summed(c, over_rows=False) for c in sum_cols)
            parts.append(f"""
            SELECT year, 'district' AS level, district_code AS unit_code, province_code AS parent_code,
                   coalesce(service, 'all') AS service, breakdown, grp, {as_they_are}
            FROM {grain} WHERE breakdown <> 'all' AND district_code IS NOT NULL""")
            parts.append(f"""
            SELECT year, 'district' AS level, district_code AS unit_code,
                   any_value(province_code) AS parent_code, 'all' AS service, breakdown, grp, {sums}
            FROM {grain} WHERE breakdown <> 'all' AND district_code IS NOT NULL
            GROUP BY year, district_code, breakdown, grp""")
    if "province" in levels and not weighted:
        # Unweighted sums are exact in any order: a province's ``all`` services cells are summed
        # from its services' cells, far fewer rows than the grain's.
        over_services = ", ".join(f"sum({c}) AS {c}" for c in sum_cols)
        parts.append(f"""
            SELECT * FROM (
                WITH province_services AS (
                    SELECT year, province_code, service, breakdown, grp, {sums} FROM {grain}
                    GROUP BY year, province_code, service, breakdown, grp)
                SELECT year, 'province' AS level, province_code AS unit_code, '{COUNTRY_CODE}' AS parent_code,
                       coalesce(service, 'all') AS service, breakdown, grp, {', '.join(sum_cols)}
                FROM province_services
                UNION ALL
                SELECT year, 'province' AS level, province_code AS unit_code, '{COUNTRY_CODE}' AS parent_code,
                       'all' AS service, breakdown, grp, {over_services}
                FROM province_services GROUP BY year, province_code, breakdown, grp)""")
    elif "province" in levels:
        parts.append(f"""
            SELECT year, 'province' AS level, province_code AS unit_code,
                   '{COUNTRY_CODE}' AS parent_code,
                   coalesce(service, 'all') AS service, breakdown, grp, {sums}
            FROM {grain}
            GROUP BY GROUPING SETS ((year, province_code, breakdown, grp, service),
                                    (year, province_code, breakdown, grp))""")
    return " UNION ALL ".join(parts)


KEY_COLUMNS = ("year", "level", "unit_code", "parent_code", "service", "breakdown", "grp")
SIBLING_KEYS = ("year", "level", "parent_code", "service", "breakdown", "grp")


@dataclass(frozen=True)
class _Wide:
    """The rolled-up cells of one scheme (or of its restated series), in publishing order: their
    keys (:data:`KEY_COLUMNS`, an Arrow table) and, by name, the NumPy columns the indicators are
    computed from: each proportion's ``n_``, ``h_`` (and ``w_``), each composite's ``n_``,
    ``s1_``, ``s2_`` (and ``w_``) and its value ``v_``; weighted, also :data:`LARGEST_WEIGHT`."""
    keys: pa.Table
    columns: dict[str, np.ndarray]


def _read_wide(con: duckdb.DuckDBPyConnection, props, comps, weighted: bool, rolled_up: str, sums: list[str],
               packed_columns=(), packing: Packing | None = None) -> _Wide:
    """The rolled-up cells (the query ``rolled_up``, with the columns ``sums``), sorted once by
    year, level, parent, service, breakdown, group and unit: every indicator is published in
    this order, which keeps the release clustered for filtered reads, and siblings (ranked
    against each other) are adjacent.

    DuckDB sorts the sums and hands them over once, as Arrow; the packed counts are unpacked and
    the composites' values computed here, in NumPy: a table of every unpacked count and value
    would be written and read again by DuckDB on one core (a table this small is one or two
    row groups), which costs far more than these element-wise operations.

    Item value = 100 x h / n (or / w), NULL (NaN) without answers; a composite's value is the
    mean of its parts' values that are known, one depth after the other (elements, aspects,
    SIPAS). Each is computed with the operations in the order the SQL
    ``(coalesce(a, 0) + coalesce(b, 0) + ...) / nullif(count, 0)`` takes them, so the values
    are the same to the last bit as DuckDB's."""
    with _grouping_sets_apart(con):
        read = con.sql(f"SELECT year::SMALLINT AS year, {', '.join(KEY_COLUMNS[1:])}, "
                       f"{', '.join(f'{c}::DOUBLE AS {c}' for c in sums)} FROM ({rolled_up}) "
                       f"ORDER BY {', '.join(SIBLING_KEYS)}, unit_code").to_arrow_table()
    columns = {name: read.column(name).to_numpy() for name in sums}
    for name, fields in packed_columns:  # whole numbers below 2**53: the int64 cast is exact
        word = columns.pop(name).astype(np.int64)
        for count, shift in fields:
            columns[count] = ((word >> shift) & ((1 << packing.bits) - 1)).astype(np.float64)
    value = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for p in props:
            answered = columns[f"w_{p.column}" if weighted else f"n_{p.column}"]
            value[p.column] = np.where(answered == 0, np.nan, 100.0 * columns[f"h_{p.column}"] / answered)
        for depth in ("it_", "el_", "as_"):
            for c in comps:
                if c.parts[0].startswith(depth):
                    total, known = np.zeros(read.num_rows), np.zeros(read.num_rows)
                    for part in c.parts:
                        part_known = ~np.isnan(value[part])
                        total = total + np.where(part_known, value[part], 0.0)
                        known += part_known
                    value[c.column] = np.where(known == 0, np.nan, total / known)
    columns.update((f"v_{c.column}", value[c.column]) for c in comps)
    return _Wide(read.select(list(KEY_COLUMNS)), columns)


def sibling_ranks(siblings: np.ndarray, ranked: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Rank of each cell among its siblings: 1 = highest value, ties share the better rank
    (values compared at 9 decimals, so float noise never splits a tie). ``siblings`` numbers
    the sibling sets (whole numbers from 0); only cells where ``ranked`` is true take part; the
    rest get 0 (no rank).

    Vectorised: one sort by (sibling set, value descending), then each cell's rank is its
    position after the first cell of its value minus the first cell of its set. Both keys fit
    one int64 whenever the values span less than about 10**9 (percentages always do), and one
    integer sort is an order of magnitude faster than a two-key ``lexsort``."""
    out = np.zeros(len(value), dtype=np.int32)
    idx = np.flatnonzero(ranked)
    if not len(idx):
        return out
    sib = siblings[idx].astype(np.int64)
    nano = np.rint(value[idx] * 1e9)                    # the value at 9 decimals, as a whole number
    nano -= nano.min()
    value_bits = int(nano.max()).bit_length()
    if value_bits + int(sib.max()).bit_length() <= 62:
        descending = (1 << value_bits) - 1 - nano.astype(np.int64)
        order = np.argsort((sib << value_bits) | descending, kind="stable")
    else:
        order = np.lexsort((-nano, sib))
    sib, nano = sib[order], nano[order]
    pos = np.arange(len(order))
    new_set = np.r_[True, sib[1:] != sib[:-1]]
    new_value = new_set | np.r_[True, nano[1:] != nano[:-1]]
    set_start = np.maximum.accumulate(np.where(new_set, pos, 0))
    value_start = np.maximum.accumulate(np.where(new_value, pos, 0))
    out[idx[order]] = value_start - set_start + 1
    return out


def _sibling_sets(keys: pa.Table) -> np.ndarray:
    """Numbers the sibling sets of rows sorted by :data:`SIBLING_KEYS` (a new number wherever
    one of those keys changes from the row above). A dictionary-encoded key is compared by its
    codes (one dictionary per column, so equal texts have equal codes; a missing key is -1)
    instead of its texts."""
    n = keys.num_rows
    change = np.zeros(n, dtype=bool)
    if n:
        change[0] = True
    for name in SIBLING_KEYS:
        col = keys.column(name)
        if pa.types.is_dictionary(col.type):
            col = pc.fill_null(pa.chunked_array([chunk.indices for chunk in col.chunks], col.type.index_type), -1)
        col = col.to_numpy(zero_copy_only=False)
        change[1:] |= col[1:] != col[:-1]
    return np.cumsum(change)


def _indicator_inputs(kind: str, stem: str, weighted: bool, wide: _Wide) -> list[np.ndarray]:
    """What one indicator's numbers are computed from, columns of ``wide``: n, then the hits (a
    proportion) or the value and the two sums of scores (a composite), then the summed weight
    when weighted (see :func:`_indicator_numbers`)."""
    cols = [f"n_{stem}"] + ([f"h_{stem}"] if kind == "proportion" else [f"v_{stem}", f"s1_{stem}", f"s2_{stem}"])
    return [wide.columns[c] for c in cols + ([f"w_{stem}"] if weighted else [])]


def _indicator_numbers(kind: str, inputs: list[np.ndarray], weighted: bool, scale: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """One indicator's numbers for every cell of the wide table, from :func:`_indicator_inputs`
    (nulls as NaN): n (whole), value, and the 95% interval's ends; and where the value is NULL
    (a composite none of whose parts has a value), or None.

    In NumPy, element-wise, with the operations in the order DuckDB's SQL would take them
    (``greatest`` lets NaN through and ``least`` ignores it, as DuckDB orders NaN above every
    number; a NULL value's interval is 0 to 100, as ``greatest``/``least`` skip a NULL), so the
    published numbers are the same to the last bit whichever computes them."""
    n = inputs[0]
    w = inputs[-1] if weighted else n
    z2 = Z95 * Z95
    value_null = None
    with np.errstate(all="ignore"):  # cells no form answered (n = 0) are not published
        if kind == "proportion":
            # Wilson score interval: (centre -/+ spread) / divisor
            p = inputs[1] / w
            centre = p + z2 / (2.0 * n)
            spread = Z95 * np.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n))
            divisor = 1 + z2 / n
            value = 100.0 * p
            low = np.maximum(0.0, 100.0 * (centre - spread) / divisor)
            high = np.fmin(100.0, 100.0 * (centre + spread) / divisor)
        else:
            # linearised: the standard error of the (weighted) mean respondent score
            value, s1, s2 = inputs[1], inputs[2], inputs[3]
            mu = s1 / scale / w
            half = 100.0 * Z95 * np.sqrt(np.maximum(0.0, s2 / (scale * scale) / w - mu * mu)) / np.sqrt(n)
            value_null = np.isnan(value)
            low = np.maximum(0.0, value - half)
            high = np.fmin(100.0, value + half)
            if value_null.any():
                low[value_null], high[value_null] = 0.0, 100.0
            else:
                value_null = None
    return np.rint(n).astype(np.int64), value, low, high, value_null


def _part_columns(kinds, parts: dict[str, tuple[str, ...]]) -> list[tuple[int, list[int]]]:
    """Each composite's column among ``kinds`` with the columns of those of its parts that are
    published beside it (see :func:`sipas_data.disclosure.complementary_suppression`)."""
    where = {stem: i for i, (_, _, stem) in enumerate(kinds)}
    return [(where[stem], [where[p] for p in part_stems if p in where])
            for stem, part_stems in parts.items() if stem in where]


def _publish(wide: _Wide, kinds, *, weighted: bool, scale: int, limit: int,
             scheme: str, basis: str, parts: dict[str, tuple[str, ...]],
             protect: Callable[[pd.DataFrame, np.ndarray, list, np.ndarray | None], np.ndarray] | None = None,
             keep: Callable[[pd.DataFrame, np.ndarray, np.ndarray], None] | None = None) -> Iterator[pa.Table]:
    """The published rows of the cells ``wide``, one Arrow table per indicator, in its order. The
    unit keys are encoded once and shared by every indicator; ranks come from
    :func:`sibling_ranks`. Cells no form answered (n = 0) are not published; cells
    under the threshold, and those complementary suppression withholds so that none of them
    can be worked out from the rest (:mod:`sipas_data.disclosure`), are published suppressed:
    no value, no interval, no rank, no n.

    A weighted cell where one form carries most of the weight (:data:`DOMINANT_WEIGHT_SHARE`)
    is withheld like a small one.

    ``parts`` maps a composite's stem to its parts' stems. ``protect`` decides the withheld
    cells from the keys (a frame), the counts (cells x indicators), the composites' part
    columns and the cells withheld for a dominant weight (default: the additive sets among
    these cells); ``keep`` is handed the keys, counts
    and withheld cells once decided (the restated series is protected against them)."""
    keys = wide.keys
    rows = keys.num_rows
    key_frame = keys.to_pandas()
    # Text columns go out dictionary-encoded (see PUBLISH_SCHEMA): the keys once for every
    # indicator (and the sibling sets found on their codes), and a constant as one value that
    # every row points to.
    keys = pa.table({name: pc.dictionary_encode(column) if column.type == pa.string() else column
                     for name, column in zip(keys.column_names, keys.columns)})
    siblings = _sibling_sets(keys)
    # the counts laid out indicator by indicator (column-major), as suppression reads them
    counts = np.zeros((rows, len(kinds)), dtype=np.int32, order="F")
    for i, (_, _, stem) in enumerate(kinds):
        counts[:, i] = wide.columns[f"n_{stem}"]
    dominated = None
    if weighted:
        largest = wide.columns[LARGEST_WEIGHT]
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = [np.where(weight == 0, 0.0, largest / weight)
                      for weight in (wide.columns[f"w_{stem}"] for _, _, stem in kinds)]
        dominated = np.column_stack(shares) > DOMINANT_WEIGHT_SHARE
    part_columns = _part_columns(kinds, parts)
    if protect is None:
        withheld = complementary_suppression(counts, cell_sets(key_frame), limit, part_columns, primary=dominated)
    else:
        withheld = protect(key_frame, counts, part_columns, dominated)
    if keep is not None:
        keep(key_frame, counts, withheld)
    first = pa.array(np.zeros(rows, dtype=np.int32))
    constant = lambda text: pa.DictionaryArray.from_arrays(first, pa.array([text], pa.string()))  # noqa: E731
    fixed = {"scheme": constant(scheme), "source": constant("computed"), "basis": constant(basis),
             "note": pa.DictionaryArray.from_arrays(pa.nulls(rows, pa.int32()), pa.array([], pa.string()))}
    for i, (kind, indicator, stem) in enumerate(kinds):
        inputs = _indicator_inputs(kind, stem, weighted, wide)
        n, value, low, high, value_null = _indicator_numbers(kind, inputs, weighted, scale)
        shown = (n > 0) & ~withheld[:, i]
        hidden = ~shown
        # under the threshold, or withheld: no value, interval or n
        blank = hidden | (n < limit)
        value_blank = blank if value_null is None else blank | value_null
        rank = sibling_ranks(siblings, ~value_blank & ~np.isnan(value), value)
        columns = {
            "year": keys.column("year"), "scheme": fixed["scheme"], "level": keys.column("level"),
            "unit_code": keys.column("unit_code"), "parent_code": keys.column("parent_code"),
            "service": keys.column("service"), "breakdown": keys.column("breakdown"),
            "group": keys.column("grp"), "indicator": constant(indicator),
            "value": pa.array(value, pa.float64(), mask=value_blank),
            "n": pa.array(n, pa.int64(), mask=hidden),
            "ci_low": pa.array(low, pa.float64(), mask=blank),
            "ci_high": pa.array(high, pa.float64(), mask=blank),
            "suppressed": pa.array(hidden), "rank": pa.array(rank, pa.int32(), mask=rank == 0),
            "source": fixed["source"], "basis": fixed["basis"], "note": fixed["note"],
        }
        table = pa.Table.from_arrays([columns[f.name] for f in PUBLISH_SCHEMA], schema=PUBLISH_SCHEMA)
        answered = n > 0
        yield table if answered.all() else table.filter(pa.array(answered))


_TEXT_COLUMNS = ("year", "scheme", "province_code", "district_code", "commune_code", "agency_level",
                 "service", *PROFILE_DIMENSIONS)


def _forms_view_sql(m: Scheme, present: set[str]) -> str:
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


INDEX_TABLE_SQL = INDICES.duckdb_columns()


@dataclass(frozen=True)
class Restatement:
    """How forms of earlier years are re-addressed to today's units, for a restated series of the
    headline indices: forms of years before ``before_year`` count toward the commune their old
    commune joined (``communes``: old_commune_code, new_commune_code) and the province their old
    province merged into (``provinces``: old_province_code, new_province_code); forms of a
    province without a new one are left out, and the district level is gone (district-agency
    forms count toward the new province only). A row may hold the years it applies to,
    ``from_year`` (included) to ``to_year`` (not), where a later reform reused a code."""
    communes: pd.DataFrame
    provinces: pd.DataFrame
    before_year: int

    def spans(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with its years: every year before ``before_year`` unless it gives them."""
        if "from_year" in frame:
            return frame
        return frame.assign(from_year=np.int32(0), to_year=np.int32(self.before_year))


RESTATED_LEVELS = ("province", "commune")


@dataclass(frozen=True)
class _KeptGrain:
    """A scheme's ``all`` grain, kept for the restated series, with what its roll-up needs."""
    table: str
    scheme: str
    items: list[Proportion]
    comps: list[Composite]
    plain: set[str]
    weighted: bool
    packing: Packing | None
    packed_columns: list      # the grain's packed layout (see _packed_columns)
    limit: int
    # the earlier years' own cells as published (keys, counts and withheld cells of the
    # composites): the restated series must not open what they withhold
    published: list = field(default_factory=list)


def _own_units_for_restated(keys: pd.DataFrame, counts: np.ndarray, withheld: np.ndarray, kinds) -> tuple:
    """The pooled cells a restated cell can be the sum of (overall, provinces and communes), with
    the composites' counts and withheld flags: (keys, {stem: (counts, withheld)})."""
    rows = np.flatnonzero((keys["breakdown"] == "all").to_numpy() & keys["level"].isin(RESTATED_LEVELS).to_numpy())
    cols = {stem: i for i, (kind, _, stem) in enumerate(kinds) if kind == "composite"}
    return (keys.iloc[rows][["year", "level", "unit_code", "service"]].reset_index(drop=True),
            {stem: (counts[rows, i], withheld[rows, i]) for stem, i in cols.items()})


def _restated_protection(restate: Restatement, own: tuple, kinds, limit: int) -> Callable:
    """Complementary suppression of the restated series: its own additive sets, and each
    restated cell as the sum of the old units' published cells it was formed from (those are
    frozen: already published, their withheld cells stay withheld and nothing else changes)."""
    own_keys, own_cols = own
    spans = ["from_year", "to_year"]
    mapping = pd.concat([
        restate.spans(restate.communes)[["old_commune_code", "new_commune_code", *spans]]
        .set_axis(["old", "new", *spans], axis=1).assign(level="commune"),
        restate.spans(restate.provinces)[["old_province_code", "new_province_code", *spans]]
        .set_axis(["old", "new", *spans], axis=1).assign(level="province"),
    ]).dropna()
    earlier = own_keys[own_keys["year"] < restate.before_year].reset_index(names="own_row")
    old = earlier.merge(mapping, left_on=["level", "unit_code"], right_on=["level", "old"], how="inner")
    old = old[(old["year"] >= old["from_year"]) & (old["year"] < old["to_year"])].drop(columns=spans)
    old = old.reset_index(drop=True)
    own_rows = old["own_row"].to_numpy()
    stems = [stem for _, _, stem in kinds]
    zeros = np.zeros(len(old), dtype=np.int32)
    old_n = np.column_stack([own_cols[s][0][own_rows] if s in own_cols else zeros for s in stems])
    old_out = np.column_stack([own_cols[s][1][own_rows] if s in own_cols else zeros.astype(bool) for s in stems])

    def protect(keys: pd.DataFrame, counts: np.ndarray, part_columns, dominated) -> np.ndarray:
        first = len(keys)
        on = ["year", "level", "unit_code", "service"]
        restated = keys[on].assign(row=np.arange(first))
        formed_of = old[["year", "level", "service"]].assign(unit_code=old["new"], row=first + np.arange(len(old)))
        formed_of["year"] = formed_of["year"].astype(restated["year"].dtype)
        sets = AdditiveSets.concat(cell_sets(keys), additive_sets(formed_of, restated, on=on))
        return complementary_suppression(
            np.vstack([counts, old_n]), sets, limit, part_columns,
            primary=None if dominated is None else np.vstack([dominated, np.zeros(old_n.shape, dtype=bool)]),
            withheld=np.vstack([np.zeros(counts.shape, dtype=bool), old_out]),
            frozen=np.r_[np.zeros(first, dtype=bool), np.ones(len(old), dtype=bool)])[:first]

    return protect


def _restated_grain_sql(restate: Restatement, grain: str, sums: list[str]) -> str:
    """The ``all`` grain of the earlier years, re-addressed to today's units. A grain cell lies
    within one old commune (or one district agency), so it maps whole; ``sums`` are its
    columns, already unpacked."""
    return f"""
        SELECT g.year, pw.new_province_code AS province_code, NULL::VARCHAR AS district_code,
               cw.new_commune_code AS commune_code, g.agency_level, g.service, g.breakdown, g.grp,
               {', '.join(sums)}
        FROM {grain} g
        JOIN restate_provinces pw ON pw.old_province_code = g.province_code
            AND g.year >= pw.from_year AND g.year < pw.to_year
        LEFT JOIN restate_communes cw ON cw.old_commune_code = g.commune_code
            AND g.year >= cw.from_year AND g.year < cw.to_year
        WHERE g.year < {int(restate.before_year)}"""


def _restated(con: duckdb.DuckDBPyConnection, restate: Restatement, kept: _KeptGrain,
              timings: dict[str, float]) -> Iterator[pa.Table]:
    """The restated series of one scheme: its kept grain rolled up on today's units (headline
    indices only, so the items' counts only). Packed counts are unpacked in the grain, before
    cells of several old provinces add up: a merged province can hold more forms than a field."""
    if not con.execute(f"SELECT count(*) FROM {kept.table} WHERE year < {int(restate.before_year)}").fetchone()[0]:
        return
    clock = time.perf_counter
    start = clock()
    counts = [name for name, _ in _counters(kept.items, kept.plain)] if kept.packing else []
    sums = _sum_columns(kept.items, kept.comps, kept.weighted, counts)
    unpacked = [_unpack_sql(kept.packed_columns, kept.packing)] if kept.packing else []
    con.execute("CREATE OR REPLACE TEMP VIEW grain_restated AS " + _restated_grain_sql(
        restate, kept.table, [*unpacked, *(c for c in sums if c not in counts)]))
    wide = _read_wide(con, kept.items, kept.comps, kept.weighted,
                      _rollup_sql(sums, RESTATED_LEVELS, kept.weighted, "grain_restated"), sums)
    con.execute("DROP VIEW grain_restated")
    timings["core"] = timings.get("core", 0.0) + clock() - start
    kinds = [("composite", c.indicator, c.column) for c in kept.comps]
    yield from _timed_publish(wide, kinds,
                              timings, weighted=kept.weighted, scale=1 if kept.weighted else score_scale(kept.comps),
                              limit=kept.limit, scheme=kept.scheme, basis="restated",
                              parts={c.column: c.parts for c in kept.comps},
                              protect=_restated_protection(restate, kept.published[0], kinds, kept.limit))


def compute_batches(con: duckdb.DuckDBPyConnection, responses: pd.DataFrame | pa.Table | duckdb.DuckDBPyRelation, *,
                    threshold: int | None = None,
                    levels: tuple[str, ...] = ("province", "district", "commune"),
                    breakdowns: tuple[str, ...] = PROFILE_DIMENSIONS,
                    restate: Restatement | Callable[[], Restatement] | None = None,
                    timings: dict[str, float] | None = None) -> Iterator[pa.Table]:
    """Every published cell for the accepted forms in ``responses``, as Arrow tables
    (:data:`PUBLISH_SCHEMA`: the columns :data:`INDEX_COLUMNS`, text dictionary-encoded) of
    one scheme and indicator each, in publishing order; ``con`` is the DuckDB connection to
    work in.

    ``threshold`` overrides the schemes' suppression threshold (default: each scheme's rule).
    The rows are labelled ``basis = pooled``. With ``restate``, the earlier years' SIPAS,
    aspects and elements follow on today's units (``basis = restated``, provinces and
    communes; see :class:`Restatement`): rolled up from the same grain, not from the forms again.
    ``restate`` may be a function that returns the restatement: it is called only once every
    pooled cell has been handed over, so the crosswalk can load meanwhile.
    ``timings``, when given, collects seconds per stage: ``core`` (grain scan, roll-up and the
    values of every cell) and ``publish`` (intervals, suppression, ranks, the long rows)."""
    clock = time.perf_counter
    timings = timings if timings is not None else {}
    if isinstance(responses, pd.DataFrame):  # Arrow scans much faster than object columns
        responses = pa.Table.from_pandas(responses, preserve_index=False)
    if isinstance(responses, duckdb.DuckDBPyRelation):  # a query on this connection, not copied out
        responses.create_view("forms_in", replace=True)
        present = set(responses.columns)
    else:
        con.register("forms_in", responses)
        present = set(responses.column_names)
    schemes = [r[0] for r in con.execute("SELECT DISTINCT scheme FROM forms_in ORDER BY 1").fetchall()]
    kept: list[_KeptGrain] = []  # each scheme's grain, restated after every pooled cell
    for scheme_id in schemes:
        start = clock()
        m = get_scheme(scheme_id)
        props, comps = plan(m)
        con.execute(f"CREATE OR REPLACE TEMP VIEW forms AS {_forms_view_sql(m, present)}")
        dims = tuple(d for d in breakdowns if d in present)
        # (and the groups of each profile dimension, in the same scan)
        weighted, *found = con.execute(
            f"SELECT coalesce(bool_and(weight = 1.0), true) = false"
            f"{''.join(f', list(DISTINCT {_q(d)}::VARCHAR)' for d in dims)} FROM forms WHERE scheme = '{m.id}'"
        ).fetchone()
        groups = {d: sorted(g for g in found_groups if g is not None) for d, found_groups in zip(dims, found)}
        # A question the forms do not carry has no cell to publish (items stay: composites read them).
        expectations_asked = any(c in present for c in m.expectation_columns())
        props = [p for p in props if p.column.startswith("it_")
                 or (p.answer in present if p.answer else expectations_asked)]
        # The per-form work (answer tests, respondent scores) is done once, into a narrow
        # table that every grouping then only counts and sums.
        con.execute(_key_table_sql("cells", f"SELECT {', '.join(CELL_KEYS)}, count(*) AS forms FROM forms "
                                            f"WHERE scheme = '{m.id}' GROUP BY ALL"))
        joins = _key_join_sql("cells", CELL_KEYS, "f")
        if dims:
            # (a district's keys are a part of its cells' keys: counted from those, not the forms)
            con.execute(_key_table_sql("districts", f"SELECT {', '.join(DISTRICT_KEYS)}, sum(forms) AS forms "
                                                    "FROM cells GROUP BY ALL"))
            # each cell carries its district's number, so one join of the forms finds both
            con.execute("CREATE OR REPLACE TEMP TABLE cells AS SELECT cells.*, districts.districts_id FROM cells "
                        + _key_join_sql("districts", DISTRICT_KEYS, "cells"))
        keep = ("cells_id", *(("districts_id",) if dims else ()), *dims, *(("weight",) if weighted else ()))
        plain = _answers_always_valid(con, props, m.id)
        scale = score_scale(comps)
        # the most forms a grain cell can hold (they all lie within one district's service),
        # and that a published cell can hold (a province)
        largest_cell, largest_unit = con.execute(
            "SELECT coalesce(max(cell), 0), coalesce(max(unit), 0) FROM "
            "(SELECT max(cell) AS cell, sum(cell) AS unit FROM (SELECT year, province_code, sum(forms) AS cell "
            "FROM cells GROUP BY year, province_code, district_code, service) GROUP BY year, province_code)"
        ).fetchone()
        exact_doubles = largest_cell * scale * scale < 2**53
        # Unweighted, the counts travel packed: over the forms into the grain in fields as wide
        # as a grain cell's counts need (fewer columns for every form to fill and every grouping
        # to sum), then repacked in fields as wide as a province's need, for the roll-up.
        packing = None if weighted else Packing.for_largest(largest_unit)
        grain_packing = None if weighted else Packing.for_largest(largest_cell)
        packed_columns = _packed_columns(_counters(props, plain), packing) if packing else []
        grain_columns = _packed_columns(_counters(props, plain), grain_packing, "gk") if packing else []
        packed = [name for name, _ in packed_columns]
        grain_packed = [name for name, _ in grain_columns]
        # One grouping streams straight from the forms; several share the per-form work, done
        # once into a table that each then only sums. That table is laid out district by
        # district: a grouping then updates the sums of a few cells at a time, which stay in
        # the processor's cache, instead of jumping between all of them (with forms in random
        # order that saves the groupings far more than sorting the forms' answers costs).
        # Only speed depends on this order, never a result.
        columns = ", ".join([*keep, *_per_form_columns(props, comps, grain_columns)])
        # The sort moves every column of the forms: only what the scores read, fixed-width (the
        # profile groups coded as small whole numbers, no scheme, no weight unless weighted).
        if dims:
            dropped = [*CELL_KEYS, "scheme", *dims, *(() if weighted else ("weight",))]
            codes = ", ".join(_group_code_sql(d, g) for d, g in groups.items())
            by_district = (f"(SELECT cells_id, districts_id, f.* EXCLUDE ({', '.join(map(_q, dropped))}), {codes} "
                           f"FROM forms f {joins} WHERE f.scheme = '{m.id}' ORDER BY districts_id, cells_id)")
            scored = f"SELECT {columns} FROM ({_scored_sql(m, by_district, props, comps, plain)})"
        else:
            of_scheme = f"(FROM forms WHERE scheme = '{m.id}')"
            scored = f"SELECT {columns} FROM ({_scored_sql(m, of_scheme, props, comps, plain)}) f {joins}"
        con.execute(f"CREATE OR REPLACE TEMP {'TABLE' if dims else 'VIEW'} scored AS {scored}")
        aggs = _grain_aggregates(props, comps, weighted, scale, exact_doubles, grain_packed)
        grains = ["grain_all", *(["grain_breakdowns"] if dims else [])]
        _grain(con, aggs, {}, "grain_all", AGGREGATES_PER_SCAN if dims else len(aggs))
        if dims:
            with _grouping_sets_apart(con):
                _grain(con, aggs, groups, "grain_breakdowns", AGGREGATES_PER_SCAN)
        # the per-form table is the largest thing held: gone once the groupings have summed it
        con.execute(f"DROP {'TABLE' if dims else 'VIEW'} scored")
        # one table per grouping, read as one: appending to a wide table costs more than summing
        grain = " UNION ALL BY NAME ".join(f"FROM {g}" for g in grains)
        if packing:
            grain = (f"SELECT * EXCLUDE ({', '.join(grain_packed)}), "
                     f"{_repack_sql(grain_columns, grain_packing, packed_columns)} FROM ({grain})")
        con.execute(f"CREATE OR REPLACE TEMP VIEW grain AS {grain}")
        sums = _sum_columns(props, comps, weighted, packed)
        # (a district's code names one district of one province in a year: its breakdowns'
        # grain rows are its cells; checked here, since the grain would also hold two)
        districts_apart = bool(dims) and not con.execute(
            "SELECT count(*) FROM (SELECT year, district_code FROM districts WHERE district_code IS NOT NULL "
            "GROUP BY ALL HAVING count(DISTINCT province_code) > 1)").fetchone()[0]
        rolled_up = _rollup_sql(sums, levels, weighted, squares_exact=largest_unit * scale * scale < 2**53,
                                districts_apart=districts_apart)
        wide = _read_wide(con, props, comps, weighted, rolled_up, sums, packed_columns, packing)
        limit = int(threshold if threshold is not None else m.suppression_threshold)
        con.execute("DROP VIEW grain")
        if restate is not None:  # the overall grain stays for the restated series
            kept.append(_KeptGrain(f"grain_kept_{len(kept)}", m.id, [p for p in props if p.column.startswith("it_")],
                                   comps, plain, weighted, grain_packing, grain_columns, limit))
            con.execute(f"ALTER TABLE grain_all RENAME TO {kept[-1].table}")
        for temp in (*grains, "cells", "districts"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
        middle = clock()
        timings["core"] = timings.get("core", 0.0) + middle - start
        kinds = [("proportion", p.indicator, p.column) for p in props] + [("composite", c.indicator, c.column)
                                                                           for c in comps]
        def keep(keys, counts, withheld, grain=kept[-1] if restate is not None else None):
            grain.published.append(_own_units_for_restated(keys, counts, withheld, kinds))

        yield from _timed_publish(wide, kinds, timings, weighted=weighted, scale=1 if weighted else scale,
                                  limit=limit, scheme=m.id, basis="pooled",
                                  parts={c.column: c.parts for c in comps},
                                  keep=keep if restate is not None else None)
    if isinstance(responses, duckdb.DuckDBPyRelation):
        con.execute("DROP VIEW forms_in")
    else:
        con.unregister("forms_in")
    if kept:
        restate = restate() if callable(restate) else restate
        spans = ["from_year", "to_year"]
        con.register("restate_communes",
                     restate.spans(restate.communes)[["old_commune_code", "new_commune_code", *spans]])
        con.register("restate_provinces",
                     restate.spans(restate.provinces)[["old_province_code", "new_province_code", *spans]])
        for grain in kept:
            yield from _restated(con, restate, grain, timings)
            con.execute(f"DROP TABLE {grain.table}")
        con.unregister("restate_communes")
        con.unregister("restate_provinces")


def _timed_publish(wide: _Wide, kinds, timings: dict[str, float], **options) -> Iterator[pa.Table]:
    """:func:`_publish`, adding the time spent to ``timings["publish"]`` (not the caller's)."""
    clock = time.perf_counter
    published = clock()
    for batch in _publish(wide, kinds, **options):
        timings["publish"] = timings.get("publish", 0.0) + clock() - published
        yield batch
        published = clock()


def compute_into(con: duckdb.DuckDBPyConnection, responses: pd.DataFrame | pa.Table, *, table: str = "indices",
                 **options) -> None:
    """:func:`compute_batches`, appended to the DuckDB table ``table`` (created if needed)."""
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} {INDEX_TABLE_SQL}")
    for batch in compute_batches(con, responses, **options):
        con.register("batch_in", batch)
        con.execute(f"INSERT INTO {table} SELECT * FROM batch_in")
        con.unregister("batch_in")


def compute_indices(responses: pd.DataFrame | pa.Table, *, threshold: int | None = None,
                    levels: tuple[str, ...] = ("province", "district", "commune"),
                    breakdowns: tuple[str, ...] = PROFILE_DIMENSIONS) -> pa.Table:
    """Every published cell for ``responses``, computed in a fresh in-memory database."""
    batches = list(compute_batches(duckdb.connect(), responses, threshold=threshold, levels=levels,
                                   breakdowns=breakdowns))
    return pa.concat_tables(batches).cast(INDEX_SCHEMA) if batches else empty_indices()


INDEX_SCHEMA = INDICES.arrow_schema()

# The engine's batches, as they go to the release's Parquet file: the same columns, text
# dictionary-encoded. Most text columns hold a handful of values (indicator, level, service,
# ...), and the Parquet writer stores dictionary arrays as they are, instead of hashing ten
# million strings per column again; the file itself holds plain strings (INDEX_SCHEMA).
PUBLISH_SCHEMA = INDICES.arrow_schema(dictionary_text=True)


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
