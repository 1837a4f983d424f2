"""Disclosure control: which published cells must be withheld so that no suppressed cell can be
worked out from the others.

Primary suppression withholds every cell with fewer valid answers than the threshold. That alone
is not enough: the published cells add up. A district's ``all`` cell is the sum of its gender
groups, so with one group withheld, the ``all`` cell minus the visible groups gives that group's
satisfied count exactly. Complementary (secondary) suppression closes those gaps, as the UK GP
Patient Survey and statistical offices do.

**The sets of cells that add up** (per indicator; counts are additive, so is every index that is a
share or a mean of respondent scores):

* the groups of one breakdown (gender, age group, ...) add up to the unit's ``all`` cell;
* the children of a unit (communes of a district, districts of a province, communes of a 2025
  province) add up to the unit, plus what only the unit holds (district-agency forms);
* the services of a unit add up to its ``all`` services cell;
* for the restated series, a 2025 unit of an earlier year is the sum of the old units it was
  formed from, which are published themselves;
* across indicators: an element is the mean of its items' indices, an aspect of its elements,
  SIPAS of its parts, so one withheld part of a published composite is its mean times the number
  of parts minus the others.

What a set does not publish (forms without a group, a district's own agency forms) is its
*remainder*: an unknown too, and a small one is as sensitive as a small cell.

**The rule** (applied until nothing changes, since one withheld cell can open another set): in
every set, the unknowns (withheld members, and the remainder when it holds any form) are never
exactly one, unless that one is a remainder of at least the threshold (it is published nowhere,
and recovering it discloses nothing); and while the set's total is published, the unknowns
together hold at least the threshold's number of answers, so that what differencing recovers is
itself a publishable aggregate. When a set breaks the rule, the published member with the fewest
answers is withheld too ("the next-smallest sibling"); if it has none, the total is. For a
composite, one withheld part is joined by the next-smallest part.

**What a withheld cell publishes:** nothing that leads back to it: no value, interval, rank, and
no ``n`` (the published ``n`` of its set still tells how many answers the withheld cells hold
together, never one cell's own).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class AdditiveSets:
    """Sets of cells that add up: set ``s`` has the total ``parent[s]`` (a row) and the members
    ``member_row[member_set == s]``; the rows index one table of cells."""
    parent: np.ndarray      # int64, one row per set
    member_set: np.ndarray  # int64, one per membership
    member_row: np.ndarray  # int64, one per membership

    @staticmethod
    def concat(*parts: AdditiveSets) -> AdditiveSets:
        parents, sets, rows, offset = [], [], [], 0
        for p in parts:
            parents.append(p.parent)
            sets.append(p.member_set + offset)
            rows.append(p.member_row)
            offset += len(p.parent)
        as_int = lambda xs: np.concatenate(xs).astype(np.int64) if xs else np.zeros(0, np.int64)  # noqa: E731
        return AdditiveSets(as_int(parents), as_int(sets), as_int(rows))


def additive_sets(children: pd.DataFrame, parents: pd.DataFrame, on: list[str], by: list[str] = ()) -> AdditiveSets:
    """Sets whose members are the rows of ``children`` (column ``row``) and whose total is the
    row of ``parents`` matching them ``on`` those keys; members of one total are split further
    ``by`` those columns of the children (e.g. the breakdown)."""
    joined = children.merge(parents.rename(columns={"row": "parent_row"}), on=on, how="inner")
    if joined.empty:
        return AdditiveSets(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    set_id = joined.groupby(["parent_row", *by], sort=False).ngroup().to_numpy()
    parent = np.zeros(set_id.max() + 1, dtype=np.int64)
    parent[set_id] = joined["parent_row"].to_numpy()
    return AdditiveSets(parent, set_id.astype(np.int64), joined["row"].to_numpy().astype(np.int64))


def _one_key(*codes: np.ndarray) -> np.ndarray:
    """One whole number per row for the tuple of whole-number ``codes`` (each from 0): rows
    with the same tuple get the same number, others another (only within one call: the
    numbers depend on the codes' ranges)."""
    key = np.zeros(len(codes[0]) if codes else 0, dtype=np.int64)
    for code in codes:
        size = int(code.max()) + 1 if len(code) else 1
        if key.max(initial=0) >= (2**62) // size:  # renumbered from 0 first: no overflow
            key = pd.factorize(key)[0].astype(np.int64)
        key = key * size + code
    return key


def _sets_on_key(children: np.ndarray, child_key: np.ndarray, parents: np.ndarray, parent_key: np.ndarray,
                 split: np.ndarray | None = None) -> AdditiveSets:
    """:func:`additive_sets` on one whole number per row: the rows ``children`` are the members
    of the set whose total is the row of ``parents`` with the same key (a cell's key names one
    cell: pandas refuses keys that repeat among the parents), split further by the whole
    numbers ``split`` (one per child). The same sets, in the same order (by first member)."""
    at = pd.Index(parent_key).get_indexer(child_key)
    matched = at >= 0
    parent_row = parents[at[matched]]
    of_set = parent_row if split is None else _one_key(parent_row, split[matched])
    set_id = pd.factorize(of_set)[0].astype(np.int64)
    parent = np.zeros(set_id.max(initial=-1) + 1, dtype=np.int64)
    parent[set_id] = parent_row
    return AdditiveSets(parent, set_id, children[matched].astype(np.int64))


def cell_sets(keys: pd.DataFrame) -> AdditiveSets:
    """The additive sets among published cells ``keys`` (columns year, level, unit_code,
    parent_code, service, breakdown, grp; one row per cell, in the order of the rows they
    index). Unit codes are unique across levels (2, 3 and 5 digits), so a parent is found by
    its code."""
    k = keys[["year", "level", "unit_code", "parent_code", "service", "breakdown", "grp"]].reset_index(drop=True)
    rows = len(k)
    # each text is numbered once (a unit's code and a parent's in one numbering), and the sets
    # are matched on one whole number per key, instead of every merge numbering every text
    # column again; a missing text is a value like any other, as a merge matches it
    number = lambda column: pd.factorize(column, use_na_sentinel=False)[0].astype(np.int64)  # noqa: E731
    places = number(pd.concat([k["unit_code"], k["parent_code"]], ignore_index=True))
    unit = places[:rows]
    year, service, breakdown, grp = (number(k[c]) for c in ("year", "service", "breakdown", "grp"))
    row = np.arange(rows)
    total = (k["breakdown"] == "all").to_numpy(dtype=bool)
    of_unit = _one_key(year, unit, service)
    by_group = _sets_on_key(row[~total], of_unit[~total], row[total], of_unit[total], split=breakdown[~total])
    # a child's key and a parent's numbered together (each code's range the same on both sides)
    twice = lambda code: np.concatenate([code, code])  # noqa: E731
    of_place = _one_key(twice(year), places, twice(service), twice(breakdown), twice(grp))
    by_place = _sets_on_key(row, of_place[rows:], row, of_place[:rows])
    of_cell = _one_key(year, unit, breakdown, grp)
    all_services = (k["service"] == "all").to_numpy(dtype=bool)
    by_service = _sets_on_key(row[~all_services], of_cell[~all_services], row[all_services], of_cell[all_services])
    return AdditiveSets.concat(by_group, by_place, by_service)


class _Layout:
    """The sets' memberships indexed both ways, made once and shared by every indicator: by set
    (each set's members are one run) and by row (the sets a row belongs to, and those it totals)."""

    def __init__(self, sets: AdditiveSets, rows: int) -> None:
        self.sets = sets
        self.count = len(sets.parent)
        by_set = np.argsort(sets.member_set, kind="stable")
        self.member_row = sets.member_row[by_set]
        self.member_set = sets.member_set[by_set]
        self.set_start = np.searchsorted(self.member_set, np.arange(self.count + 1))
        by_row = np.argsort(sets.member_row, kind="stable")
        self.row_sets = sets.member_set[by_row]
        self.row_start = np.searchsorted(sets.member_row[by_row], np.arange(rows + 1))
        by_parent = np.argsort(sets.parent, kind="stable")
        self.parent_sets = by_parent
        self.parent_start = np.searchsorted(sets.parent[by_parent], np.arange(rows + 1))

    def set_sums(self, member_values: np.ndarray, running: np.ndarray) -> np.ndarray:
        """Each set's sum of ``member_values`` (one per membership, in the order by set), from
        running sums written into ``running`` (one longer: it starts at 0); a set without
        members sums to 0."""
        np.cumsum(member_values, dtype=np.int64, out=running[1:])
        return running[self.set_start[1:]] - running[self.set_start[:-1]]


def _runs(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The positions of the runs [start, end) one after another, which run each came from, and
    where each run begins among them."""
    lengths = ends - starts
    which = np.repeat(np.arange(len(starts)), lengths)
    offsets = np.cumsum(lengths) - lengths
    return np.arange(len(which)) + np.repeat(starts - offsets, lengths), which, offsets


def _distinct(values: np.ndarray, size: int | None = None) -> np.ndarray:
    """The distinct values, sorted (np.unique hashes integers first: many times slower here);
    many whole numbers under ``size`` are marked in a table instead (sorting takes longer)."""
    if size is not None and len(values) * 32 >= size:
        seen = np.zeros(size, dtype=bool)
        seen[values] = True
        return np.flatnonzero(seen)
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def _breaks_rule(children, unknown_n, remainder, total_n, total_out, limit: int) -> np.ndarray:
    """Which sets break the rule (module docstring), from their withheld members with answers
    (how many, and their answers together), what they leave unpublished, their total's answers
    and whether the total is withheld."""
    has_remainder = remainder > 0
    unknowns = children + total_out + has_remainder
    harmless_remainder = has_remainder & (children == 0) & ~total_out & (remainder >= limit)
    single = (unknowns == 1) & ~harmless_remainder
    too_small = ~total_out & (unknowns >= 2) & (unknown_n + remainder < limit)
    return (total_n > 0) & (single | too_small)


_NONE = np.iinfo(np.int64).max  # a member that may not be withheld, in next_to_withhold


class _Columns:
    """Every indicator's sets as cells are withheld: what each set's unknowns are, kept up to
    date as cells are withheld, so that only the sets a new withheld cell belongs to are checked
    again.

    The indicators share the sets, and their cells are independent here, so each step handles
    the sets of every indicator still to check in one pass: a set of indicator ``c`` is the
    *pair* ``c * sets + set``, a cell is ``c * rows + row`` (``n`` and ``withheld`` are
    indicator-major: one indicator's cells are one run). Each indicator goes through the same
    steps as it would alone, so what it withholds does not depend on the others, nor on which
    others are settled with it: indicators may be counted and settled apart, in any order, on
    several threads at once (each writes only its own cells and sets). Only the indicators
    :meth:`count` is given are counted and settled; the others repeat one of them
    (:meth:`repeat`)."""

    def __init__(self, layout: _Layout, n: np.ndarray, withheld: np.ndarray, frozen: np.ndarray, limit: int):
        self.layout, self.frozen, self.limit = layout, frozen, limit
        self.columns, self.rows = n.shape
        self.n = n.reshape(-1)                # views of the (indicators, rows) arrays
        self.withheld = withheld.reshape(-1)
        pairs = self.columns * layout.count
        self.unknown_children = np.zeros(pairs, dtype=np.int64)
        self.unknown_n = np.zeros(pairs, dtype=np.int64)
        self.remainder = np.zeros(pairs, dtype=np.int64)

    def count(self, columns: np.ndarray) -> np.ndarray:
        """Counts the sets of the indicators ``columns`` from their cells and returns those that
        break the rule."""
        lay = self.layout
        sets, parent = lay.count, lay.sets.parent
        running = np.zeros(len(lay.member_row) + 1, dtype=np.int64)
        n_of, withheld_of = (cells.reshape(self.columns, self.rows) for cells in (self.n, self.withheld))
        bad = []
        for c in columns:
            n, withheld, own = n_of[c], withheld_of[c], slice(c * sets, (c + 1) * sets)
            member_n = n.take(lay.member_row)
            member_out = withheld.take(lay.member_row) & (member_n > 0)
            total_n = n.take(parent)
            self.unknown_children[own] = lay.set_sums(member_out, running)
            self.unknown_n[own] = lay.set_sums(member_n * member_out, running)
            self.remainder[own] = np.maximum(total_n - lay.set_sums(member_n, running), 0)
            breaks = _breaks_rule(self.unknown_children[own], self.unknown_n[own], self.remainder[own],
                                  total_n, withheld.take(parent), self.limit)
            bad.append(np.flatnonzero(breaks) + c * sets)
        return np.concatenate(bad) if bad else np.zeros(0, dtype=np.int64)

    def repeat(self, same_as: np.ndarray) -> None:
        """Gives each indicator the withheld cells and sets' counts of the indicator ``same_as``
        names (the same counts and the same cells withheld at first: then also after
        settling)."""
        copies = np.flatnonzero(same_as != np.arange(self.columns))
        if not len(copies):
            return
        sets = self.layout.count
        for state, width in ((self.withheld, self.rows), (self.unknown_children, sets), (self.unknown_n, sets),
                             (self.remainder, sets)):
            by_column = state.reshape(self.columns, width)
            by_column[copies] = by_column[same_as[copies]]

    def bad(self, pairs: np.ndarray) -> np.ndarray:
        """The sets (``pairs``) that break the rule."""
        column, s = np.divmod(pairs, self.layout.count)
        total = column * self.rows + self.layout.sets.parent[s]
        return pairs[_breaks_rule(self.unknown_children[pairs], self.unknown_n[pairs], self.remainder[pairs],
                                  self.n[total], self.withheld[total], self.limit)]

    def next_to_withhold(self, bad: np.ndarray) -> np.ndarray:
        """For each ``bad`` set, its published member with the fewest answers (ties: the first
        row), else its total: the cells, sorted."""
        lay = self.layout
        column, s = np.divmod(bad, lay.count)
        starts, ends = lay.set_start[s], lay.set_start[s + 1]
        pos, run, offsets = _runs(starts, ends)
        rows = lay.member_row[pos]
        cells = column[run] * self.rows + rows
        n = self.n[cells]
        open_member = ~self.withheld[cells] & (n > 0) & ~self.frozen[rows]
        # the fewest answers, then the first row: one number per member, the smallest wins
        rank = np.where(open_member, n.astype(np.int64) * self.rows + rows, _NONE)
        best = np.full(len(bad), _NONE, dtype=np.int64)
        has_members = ends > starts
        if len(rank):
            best[has_members] = np.minimum.reduceat(rank, offsets[has_members])
        has_open = best < _NONE
        picked = column[has_open] * self.rows + best[has_open] % self.rows
        totals = column[~has_open] * self.rows + lay.sets.parent[s[~has_open]]
        totals = totals[~self.withheld[totals] & ~self.frozen[totals % self.rows]]
        more = _distinct(np.concatenate([picked, totals]), len(self.n))
        return more[~self.withheld[more]]

    def withhold(self, cells: np.ndarray) -> np.ndarray:
        """Withholds ``cells`` (distinct, none withheld yet) and returns the sets to check again:
        those they belong to or total, a set once for each such cell."""
        lay = self.layout
        self.withheld[cells] = True
        column, rows = np.divmod(cells, self.rows)
        pos, run, _ = _runs(lay.row_start[rows], lay.row_start[rows + 1])
        member_of = column[run] * lay.count + lay.row_sets[pos]
        n = self.n[cells][run]
        answered = n > 0
        # np.add.at adds quickly only what has the array's own type: ones and counts as int64
        answered_of, n = member_of[answered], n[answered].astype(np.int64)
        np.add.at(self.unknown_children, answered_of, np.ones(len(answered_of), dtype=np.int64))
        np.add.at(self.unknown_n, answered_of, n)
        pos, run, _ = _runs(lay.parent_start[rows], lay.parent_start[rows + 1])
        return np.concatenate([member_of, column[run] * lay.count + lay.parent_sets[pos]])

    def settle(self, bad: np.ndarray) -> np.ndarray:
        """Withholds more cells until every set keeps the rule, checking the sets ``bad`` first
        (a set may be named more than once); returns the cells it withheld."""
        withheld = [np.zeros(0, dtype=np.int64)]
        while len(bad):
            more = self.next_to_withhold(_distinct(bad, len(self.unknown_n)))
            if not len(more):
                break  # nothing left that may be withheld here (frozen cells)
            withheld.append(more)
            bad = self.bad(self.withhold(more))
        return np.concatenate(withheld)


def _withhold_parts(n: np.ndarray, withheld: np.ndarray, parts: list[tuple[int, list[int]]],
                    frozen: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Composites (column, part columns): where a published composite has exactly one withheld
    part, withhold its next-smallest part (else the composite). ``n`` and ``withheld`` are
    indicator-major (indicators, rows); only ``rows`` are looked at (else all). Changes
    ``withheld`` in place, composite after composite (a composite can be another's part), and
    returns the cells it withheld (``column * rows + row``), sorted."""
    at_rows = slice(None) if rows is None else rows  # all rows: views, no copies
    frozen = frozen[at_rows]
    width = n.shape[1]
    cells = [np.zeros(0, dtype=np.int64)]
    for composite, cols in parts:
        cols = np.asarray(list(cols), dtype=np.int64)
        if not len(cols):
            continue
        pn = n[cols][:, at_rows]
        answered = pn > 0
        out = withheld[cols][:, at_rows] & answered
        lone = (n[composite, at_rows] > 0) & ~withheld[composite, at_rows] & (out.sum(axis=0) == 1) & ~frozen
        if not lone.any():
            continue
        at = np.flatnonzero(lone)
        open_n = np.where(answered[:, at] & ~out[:, at], pn[:, at].astype(np.int64), _NONE)
        pick = open_n.argmin(axis=0)
        has_open = open_n[pick, np.arange(len(at))] < _NONE
        at = at if rows is None else rows[at]
        withheld[cols[pick[has_open]], at[has_open]] = True
        withheld[composite, at[~has_open]] = True
        cells += [cols[pick[has_open]] * width + at[has_open], composite * width + at[~has_open]]
    return _distinct(np.concatenate(cells))


def _same_columns(n: np.ndarray, withheld: np.ndarray) -> np.ndarray:
    """For each indicator (a row of ``n`` and ``withheld``), the first indicator with the same
    counts and withheld cells."""
    same_as = np.arange(len(n))
    fingerprint = {}
    sums = zip(n.sum(axis=1, dtype=np.int64).tolist(), withheld.sum(axis=1).tolist())
    for c, key in enumerate(sums):
        for first in fingerprint.setdefault(key, []):
            if np.array_equal(n[first], n[c]) and np.array_equal(withheld[first], withheld[c]):
                same_as[c] = first
                break
        else:
            fingerprint[key].append(c)
    return same_as


def complementary_suppression(n: np.ndarray, sets: AdditiveSets, limit: int,
                              parts: list[tuple[int, list[int]]] = (),
                              primary: np.ndarray | None = None,
                              withheld: np.ndarray | None = None,
                              frozen: np.ndarray | None = None) -> np.ndarray:
    """Which cells are withheld: ``n`` holds the valid answers of each cell (rows) for each
    indicator (columns; 0 = nobody answered, not published); ``sets`` are the additive sets
    among the rows (the same for every indicator); ``parts`` pairs a composite's column with
    its parts' columns. Cells under ``limit``, and those ``primary`` marks (a weight that
    carries the cell), are withheld, then others by the rule in the module docstring.
    ``withheld`` may give rows already decided, with ``frozen`` marking them: those are
    published elsewhere and never changed here (the earlier years' own units, when the
    restated series is protected). Returns a boolean array shaped like ``n``."""
    n = np.asarray(n)  # counts: whole numbers (int32 is plenty: a cell holds at most millions)
    if n.ndim == 1:
        column = lambda a: None if a is None else np.asarray(a)[:, None]  # noqa: E731
        return complementary_suppression(n[:, None], sets, limit, parts, column(primary), column(withheld),
                                         frozen)[:, 0]
    frozen = np.zeros(n.shape[0], dtype=bool) if frozen is None else np.asarray(frozen, dtype=bool)
    # indicator-major: each indicator's cells are one run, which its sets gather at scattered
    # rows from within the processor's cache, instead of one cache line per row
    by_column = np.ascontiguousarray(n.T)
    out = (by_column > 0) & (by_column < limit)
    if primary is not None:
        out |= (by_column > 0) & np.asarray(primary, dtype=bool).T
    if withheld is not None:
        out[:, frozen] = np.asarray(withheld, dtype=bool)[frozen].T
    # indicators with the same counts and the same cells withheld at first (an element and its
    # one item, items every form answers) withhold the same cells in their sets: settled once
    same_as = _same_columns(by_column, out)
    columns = _Columns(_Layout(sets, n.shape[0]), by_column, out, frozen, limit)
    # each indicator settles as it would alone, and numpy counts and gathers without Python's
    # lock: two threads, every other indicator each
    distinct = np.unique(same_as)
    with ThreadPoolExecutor(2, thread_name_prefix="disclosure") as pool:
        list(pool.map(lambda half: columns.settle(columns.count(half)), [distinct[0::2], distinct[1::2]]))
    columns.repeat(same_as)
    # a composite's parts are other indicators: what they withhold is then settled in those
    # indicators' sets, checking only the sets the new withheld cells belong to; and then the
    # composites only at the rows where a cell changed (at the others none was lone before)
    parts, rows = list(parts), None
    while True:
        changed = _withhold_parts(by_column, out, parts, frozen, rows)
        if not len(changed):
            return out.T  # indicator-major in memory: one indicator's cells are one run
        columns.withheld[changed] = False  # withheld again below, with the sets' counts kept up to date
        settled = columns.settle(columns.bad(columns.withhold(changed)))
        rows = _distinct(np.concatenate([changed, settled]) % n.shape[0])


# --- The attacks, for audits and tests ---------------------------------------------------------

_CELL = ["year", "scheme", "level", "unit_code", "service", "breakdown", "group", "indicator", "basis"]


def _claims(published: pd.DataFrame, children: pd.DataFrame, parent_on: dict[str, str], attack: str) -> pd.DataFrame:
    """Differencing over sets of ``children`` whose total is the published cell found by
    ``parent_on`` (child column -> parent column): where exactly one child is withheld, the
    total minus the visible children is claimed as that child's count and value."""
    totals = published[~published["suppressed"]]
    left = list(parent_on)
    right = list(parent_on.values())
    shown = ~children["suppressed"].astype(bool)
    kids = children.assign(_n=children["n"].where(shown).fillna(0),
                           _score=(children["value"] * children["n"]).where(shown).fillna(0),
                           _out=(~shown).astype(int))
    sums = kids.groupby(left, dropna=False, sort=False).agg(
        visible_n=("_n", "sum"), visible_score=("_score", "sum"), withheld=("_out", "sum")).reset_index()
    sums = sums[sums["withheld"] == 1]
    sets = sums.merge(totals[[*right, "n", "value"]].rename(columns=dict(zip(right, left))), on=left, how="inner")
    sets = sets.assign(
        claimed_n=sets["n"] - sets["visible_n"],
        claimed_value=(sets["value"] * sets["n"] - sets["visible_score"]) / (sets["n"] - sets["visible_n"]))
    lone = kids[kids["suppressed"].astype(bool)].merge(sets[[*left, "claimed_n", "claimed_value"]],
                                                       on=left, how="inner")
    return lone[[*_CELL, "claimed_n", "claimed_value"]].assign(attack=attack)


def differencing_claims(indices: pd.DataFrame) -> pd.DataFrame:
    """What an attacker claims to recover from a published table by differencing: for every set
    of cells that add up (the groups of a breakdown, the children of a unit, the services of a
    unit) with exactly one withheld member, the total minus the rest. Returns one row per claimed cell (its keys,
    ``claimed_n``, ``claimed_value``, ``attack``). A claim is a recovery when it is true."""
    d = indices[indices["source"] == "computed"].copy()
    d["suppressed"] = d["suppressed"].astype(bool)
    same = ["year", "scheme", "indicator", "basis"]
    by_group = _group_claims(d, same)
    by_place = _claims(d, d, {**{c: c for c in [*same, "service", "breakdown", "group"]}, "parent_code": "unit_code"},
                       "place")
    by_service = _claims(d.assign(total_service="all"), d[d["service"] != "all"].assign(total_service="all"),
                         {**{c: c for c in [*same, "level", "unit_code", "breakdown", "group"]},
                          "total_service": "service"},
                         "service")
    return pd.concat([by_group, by_place, by_service], ignore_index=True)


def _group_claims(d: pd.DataFrame, same: list[str]) -> pd.DataFrame:
    keys = [*same, "level", "unit_code", "service"]
    totals = d[d["breakdown"] == "all"].assign(dimension=None)
    frames = []
    for dimension, groups in d[d["breakdown"] != "all"].groupby("breakdown"):
        frames.append(_claims(totals.assign(dimension=dimension), groups.assign(dimension=dimension),
                              {**{c: c for c in keys}, "dimension": "dimension"}, "breakdown"))
    if not frames:
        return pd.DataFrame(columns=[*_CELL, "claimed_n", "claimed_value", "attack"])
    return pd.concat(frames, ignore_index=True)


def parts_claims(indices: pd.DataFrame, parts: dict[str, list[str]]) -> pd.DataFrame:
    """Claims from composites: a published composite with exactly one withheld part (among the
    parts published for that cell) gives that part as the composite times the number of
    answered parts minus the others. ``parts`` maps a composite indicator to its parts'."""
    d = indices[indices["source"] == "computed"]
    cell = ["year", "scheme", "level", "unit_code", "service", "breakdown", "group", "basis"]
    frames = []
    for composite, names in parts.items():
        top = d[(d["indicator"] == composite) & ~d["suppressed"].astype(bool)][[*cell, "value"]]
        kids = d[d["indicator"].isin(names)].assign(_v=lambda x: x["value"].fillna(0),
                                                    _out=lambda x: x["suppressed"].astype(int))
        agg = (kids.groupby(cell, dropna=False)
               .agg(k=("_out", "size"), out=("_out", "sum"), rest=("_v", "sum")).reset_index())
        agg = agg[agg["out"] == 1].merge(top, on=cell)
        agg = agg.assign(claimed_value=agg["value"] * agg["k"] - agg["rest"])
        lone = kids[kids["suppressed"].astype(bool)].merge(agg[[*cell, "claimed_value"]], on=cell)
        frames.append(lone[[*_CELL, "claimed_value"]].assign(claimed_n=pd.NA, attack="parts"))
    if not frames:
        return pd.DataFrame(columns=[*_CELL, "claimed_n", "claimed_value", "attack"])
    return pd.concat(frames, ignore_index=True)


def recovered(claims: pd.DataFrame, truth: pd.DataFrame, tolerance: float = 1e-6) -> pd.DataFrame:
    """The claims that are true: the claimed value (and count, where claimed) equal the withheld
    cell's real ones in ``truth`` (the same cells computed with nothing withheld)."""
    real = truth[[*_CELL, "n", "value"]].rename(columns={"n": "true_n", "value": "true_value"})
    j = claims.merge(real, on=_CELL, how="inner")
    same_value = (j["claimed_value"] - j["true_value"]).abs() <= tolerance
    claimed_n = pd.to_numeric(j["claimed_n"], errors="coerce")
    same_n = claimed_n.isna() | (claimed_n == pd.to_numeric(j["true_n"]))
    return j[same_value & same_n]


def composite_parts(schemes) -> dict[str, list[str]]:
    """Each composite indicator's parts (indicator names), over the schemes named."""
    from .engine import plan  # the engine uses this module: imported when asked
    from .scheme import get_scheme

    out: dict[str, set[str]] = {}
    for scheme in schemes:
        props, comps = plan(get_scheme(scheme))
        name = {p.column: p.indicator for p in props} | {c.column: c.indicator for c in comps}
        for c in comps:
            out.setdefault(c.indicator, set()).update(name[p] for p in c.parts)
    return {k: sorted(v) for k, v in out.items()}


def formed_from_claims(indices: pd.DataFrame, mapping: pd.DataFrame) -> pd.DataFrame:
    """Claims from the restated series: a published restated cell (a 2025 unit in an earlier
    year) minus the published old units it was formed from (``mapping``: level, old, new),
    where exactly one of those is withheld."""
    d = indices[indices["source"] == "computed"]
    old = d[d["basis"] == "pooled"].merge(mapping.rename(columns={"new": "total_code"}),
                                          left_on=["level", "unit_code"], right_on=["level", "old"])
    keys = ["year", "scheme", "level", "service", "breakdown", "group", "indicator"]
    return _claims(d[d["basis"] == "restated"], old.drop(columns=["old"]),
                   {**{c: c for c in keys}, "total_code": "unit_code"}, "formed_from")
