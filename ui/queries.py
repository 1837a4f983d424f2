"""The questions the pages and the key numbers ask of a release (no Streamlit).

Every function takes ``read``: ``Release.read`` or the app's cached reader (same keywords), so the
overview, the locality profile and the press text (``ui.press.headline_facts``) ask the same
questions the same way:

* :func:`headline` -- the headline cell of a view (year, unit, service, indicator): the
  computed cell, else the published (official) figure;
* :func:`previous` -- the same cell in the year before, when the release has it, read as the
  calendar says (``sipas_data.calendar.comparison``: restated on the later year's units when a
  boundary reform lies between);
* :func:`siblings`, :func:`rank_of` and :func:`totals_by_service` -- "rank r of N": r is the
  cell's own rank, N the units of its level under the same parent whose cell is shown (not
  withheld).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from sipas_data import calendar

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

    @property
    def restated(self) -> bool:
        """The cell is read from the restated series, on the view year's units."""
        return bool(self.comparison and self.comparison.restated)

    @property
    def method_break(self) -> bool:
        """The two years were measured with different schemes."""
        return bool(self.comparison and not self.comparison.same_scheme)

    @property
    def value(self) -> float | None:
        """The cell's value, None when there is no cell or it is withheld."""
        if self.row is None or missing(self.row["value"]):
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
    return Previous(prev, comparison, d.iloc[0] if len(d) else None)


def siblings(read, *, year: int, level: str, parent: str, service: str | None, indicator: str) -> pd.DataFrame:
    """The computed cells of every unit of ``level`` under ``parent``, the unit's own included
    (``service=None``: of every service)."""
    return _computed(read(year=year, level=level, parent=parent, service=service, indicator=indicator))


def shown_count(frame: pd.DataFrame) -> int:
    """How many of the cells are shown (not withheld)."""
    return int((~frame["suppressed"].astype(bool)).sum())


@dataclass(frozen=True)
class Rank:
    """"rank r of N": the cell's rank among the shown cells of its siblings."""
    rank: float
    total: int


def rank_of(read, row: pd.Series | None, *, year: int, service: str, indicator: str) -> Rank | None:
    """The rank of a computed cell among its siblings; None when the cell has no rank (withheld,
    published, or a unit without a parent)."""
    if row is None or missing(row["rank"]):
        return None
    parent = row["parent_code"]
    if not (isinstance(parent, str) and parent):
        return None
    sib = siblings(read, year=year, level=row["level"], parent=parent, service=service, indicator=indicator)
    return Rank(float(row["rank"]), shown_count(sib))


def totals_by_service(read, *, year: int, level: str, parent: str, indicator: str) -> pd.Series:
    """N of "rank r of N" for each service: the units of ``level`` under ``parent`` whose cell of
    that service is shown."""
    sib = siblings(read, year=year, level=level, parent=parent, service=None, indicator=indicator)
    return sib[~sib["suppressed"].astype(bool)].groupby("service")["unit_code"].nunique()
