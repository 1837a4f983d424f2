"""The questions the pages and the key numbers ask of a release (no Streamlit).

Every function takes ``read``: ``Release.read`` or the app's cached reader (same keywords), so the
overview, the locality profile and the press text (``ui.press.headline_facts``) ask the same
questions the same way:

* :func:`headline` -- the headline cell of a view (year, unit, service, indicator): the
  computed cell, else the published (official) figure;
* :func:`previous` -- the same cell in the year before, when the release has it, read as the
  calendar says (``sipas_data.calendar.comparison``: restated on the later year's units when a
  boundary reform lies between);
* :func:`history` -- the series of one unit, a unit being (vintage, code): its own years, and
  for a unit of the latest vintage the restated years before it existed (an old unit whose code
  was reused keeps its own series, which ends with its vintage);
* :func:`siblings`, :func:`rank_of` and :func:`totals_by_service` -- "rank r of N": r is the
  cell's own rank, N the units of its level under the same parent whose cell is shown (not
  withheld); a unit alone among its siblings has no rank.

Across a reform, :func:`previous` also says what each year covers (``Previous.same_area``): a
restated value counts the forms of the old units the release has, which may be only part of
the new unit; the change is a change only when both years cover the same old units.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from sipas_data import calendar

from . import lineage
from .state import COUNTRY


def missing(x) -> bool:
    """None, NaN or not a number."""
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def _computed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["source"] == "computed"] if "source" in frame else frame


def headline(read, *, year: int, unit: str, service: str, indicator: str,
             published: bool = True) -> pd.Series | None:
    """The view's cell: the computed one; without it the published figure (``published=False``:
    None instead); None when the release has neither."""
    cell = read(year=year, unit=unit, service=service, indicator=indicator, level=None, source=None)
    computed = _computed(cell)
    if len(computed):
        return computed.iloc[0]
    if published and len(cell):
        return cell.iloc[0]
    return None


@dataclass(frozen=True)
class Previous:
    """The year before a view's year, as the release has it."""
    year: int | None                          # None: the release has no results for the year before
    comparison: calendar.Comparison | None    # how that year compares with the view's (calendar rules)
    row: pd.Series | None = None              # its cell (computed; nationwide: also the published one)
    covered: tuple = ()                       # restated: (old code, n) of the old units behind the cell
    missing: tuple = ()                       # restated: old units it was formed from without results
    covered_now: tuple = ()                   # restated: the old units whose area the view year covers

    @property
    def restated(self) -> bool:
        """The cell is read from the restated series, on the view year's units."""
        return bool(self.comparison and self.comparison.restated)

    @property
    def method_break(self) -> bool:
        """The two years were measured with different schemes."""
        return bool(self.comparison and not self.comparison.same_scheme)

    @property
    def same_area(self) -> bool:
        """Both years cover the same area: always on one vintage; restated, when the year before
        has results for exactly the old units whose area the view year covers."""
        if not self.restated:
            return True
        return {c for c, _ in self.covered} == set(self.covered_now)

    @property
    def value(self) -> float | None:
        """The cell's value to compare with; None when there is no cell, it is withheld, or it
        covers another area than the view year (``same_area``)."""
        if self.row is None or missing(self.row["value"]) or not self.same_area:
            return None
        return float(self.row["value"])


def previous(read, years, *, year: int, unit: str, service: str, indicator: str,
             country: str = COUNTRY) -> Previous:
    """The same cell one year earlier (``years``: the years the release has). Across a boundary
    reform it is read from the restated series, on the units of ``year``."""
    prev = int(year) - 1
    if prev not in {int(y) for y in years}:
        return Previous(None, None)
    comparison = calendar.comparison(prev, year)
    d = read(year=prev, unit=unit, service=service, indicator=indicator, level=None, source=None,
             restated=comparison.restated)
    d = _computed(d) if unit != country else d
    row = d.iloc[0] if len(d) else None
    before = lineage.vintage_before(calendar.vintage_for_year(year))
    if not comparison.restated or unit == country or calendar.vintage_for_year(prev) != before \
            or not lineage.has_crosswalk(before):
        return Previous(prev, comparison, row)   # no lineage to say what the restated year covers
    covered, absent = coverage(read, year=prev, unit=unit, vintage=calendar.vintage_for_year(year),
                               service=service, indicator=indicator)
    now = covered_by_year(read, year=year, unit=unit, service=service, indicator=indicator)
    return Previous(prev, comparison, row, covered, absent, now)


def coverage(read, *, year: int, unit: str, vintage: str, service: str, indicator: str) -> tuple[tuple, tuple]:
    """What the restated cell of ``(vintage, unit)`` in ``year`` (an earlier vintage's year) is
    made of: ((old code, n), ...) of the old units it was formed from that have results that
    year, and the old codes that have none."""
    olds = lineage.restated_from(unit, vintage)
    if not olds:
        return (), ()
    d = _computed(read(year=year, unit=olds, service=service, indicator=indicator, level=None, source=None))
    d = d.drop_duplicates("unit_code")
    have = {c: n for c, n in zip(d["unit_code"], d["n"])}
    return (tuple((c, None if missing(have[c]) else int(have[c])) for c in olds if c in have),
            tuple(c for c in olds if c not in have))


def covered_by_year(read, *, year: int, unit: str, service: str, indicator: str) -> tuple:
    """The old units (of the vintage before ``year``'s) whose area ``unit``'s results of ``year``
    cover: for a province, those its communes with results were formed from; a commune covers
    all its own."""
    import geo
    vintage = calendar.vintage_for_year(year)
    before = lineage.vintage_before(vintage)
    if before is None:
        return ()
    ref = geo.unit(unit, vintage)
    if ref is None:
        return ()
    if ref["level"] != "province":
        return tuple(lineage.restated_from(unit, vintage))
    kids = _computed(read(year=year, level="commune", parent=unit, service=service, indicator=indicator))
    provs = []
    for c in kids["unit_code"].unique():
        for old in lineage.restated_from(c, vintage):
            p = (geo.unit(old, before) or {}).get("province_code")
            if p and p not in provs:
                provs.append(p)
    return tuple(sorted(provs))


def history(read, *, vintage: str, unit: str, service: str, indicator: str) -> pd.DataFrame:
    """Every computed cell of ``(vintage, unit)`` over the years, oldest first: the years of its
    own vintage, and for a unit of the latest vintage the restated years before it (basis
    ``restated``). A code reused by a later vintage does not carry that unit's years."""
    d = _computed(read(year=None, unit=unit, service=service, indicator=indicator, level=None,
                       source="computed", restated=None))
    if not len(d):
        return d
    own = d["year"].map(lambda y: calendar.vintage_for_year(int(y)) == str(vintage)) & (d["basis"] != "restated")
    keep = own | ((d["basis"] == "restated") & (str(vintage) == calendar.latest().id))
    return d[keep].sort_values("year").reset_index(drop=True)


def siblings(read, *, year: int, level: str, parent: str, service: str | None, indicator: str) -> pd.DataFrame:
    """The computed cells of every unit of ``level`` under ``parent``, the unit's own included
    (``service=None``: of every service)."""
    return _computed(read(year=year, level=level, parent=parent, service=service, indicator=indicator))


def shown_count(frame: pd.DataFrame) -> int:
    """How many of the cells are shown (not withheld)."""
    return int((~frame["suppressed"].astype(bool)).sum())


@dataclass(frozen=True)
class Rank:
    """"rank r of N": the cell's rank among the shown cells of its siblings (the units of
    ``level`` under ``parent``)."""
    rank: float
    total: int
    level: str = ""
    parent: str = ""


def rank_of(read, row: pd.Series | None, *, year: int, service: str, indicator: str) -> Rank | None:
    """The rank of a computed cell among its siblings; None when the cell has no rank (withheld,
    published, a unit without a parent, or the only unit shown under its parent: "1 of 1" says
    nothing)."""
    if row is None or missing(row["rank"]):
        return None
    parent = row["parent_code"]
    if not (isinstance(parent, str) and parent):
        return None
    sib = siblings(read, year=year, level=row["level"], parent=parent, service=service, indicator=indicator)
    total = shown_count(sib)
    if total < 2:
        return None
    return Rank(float(row["rank"]), total, str(row["level"]), parent)


def totals_by_service(read, *, year: int, level: str, parent: str, indicator: str) -> pd.Series:
    """N of "rank r of N" for each service: the units of ``level`` under ``parent`` whose cell of
    that service is shown."""
    sib = siblings(read, year=year, level=level, parent=parent, service=None, indicator=indicator)
    return sib[~sib["suppressed"].astype(bool)].groupby("service")["unit_code"].nunique()
