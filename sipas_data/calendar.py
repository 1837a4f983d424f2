"""The SIPAS calendar: which units and which method a survey year is on, and which years compare.

Two things change over the years, and both are data:

* **Vintages** of administrative units, listed oldest first in ``calendar.toml``: each has an id
  (``"2019"``, ``"2025"``), its first survey year (the earliest vintage has none: it covers every
  year before the next), the date its units took effect, whether it has a district level, and the
  crosswalk that carries its communes onto the next vintage, and where its units come from:
  ``units`` (a table of the vietnamadminunits package, ``vietnamadminunits:<table>``) or
  ``changes`` (a file of the units added, changed and removed since the vintage before; its
  format is in ``geo/registry.py``'s docstring). A vintage covers the survey years from its first
  year until the next vintage's.
* **Schemes** (methods): each scheme's definition file in ``methodologies/`` carries its years,
  and :func:`scheme_for_year` asks :func:`sipas_data.scheme.scheme_for_year`, so the years
  of a method are written in one place only.

Comparability follows from the two (:func:`comparison`). Two survey years compare directly when
they share a scheme and a vintage. Across a boundary reform, the earlier year is read from the
release's restated series, which is on the latest vintage; so it compares with a year on the
latest vintage, not with one on a vintage in between. Across a method change the figures are
shown with a warning: they are not directly comparable.

Where it lives: geo (the unit registries), sipas_data (import, build, official figures, the demo)
and ui and pages all ask it. sipas_data imports geo only inside functions, and geo imports this
module at import time; so this module imports nothing from geo or ui, and from sipas_data only
``methodology`` (which imports no other module of the project), and no import cycle can form.
"""
from __future__ import annotations

import datetime as _dt
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .scheme import SchemeError, builtin_schemes
from .scheme import scheme_for_year as _scheme_in_force

DATA_FILE = Path(__file__).with_name("calendar.toml")
_DISTRICT_LEVELS = ("province", "district", "commune")
_COMMUNE_LEVELS = ("province", "commune")


class CalendarError(ValueError):
    """The calendar's data file is inconsistent, or a vintage it does not list was asked for."""


@dataclass(frozen=True)
class Vintage:
    id: str
    first_year: int | None          # None only for the earliest vintage
    start: _dt.date | None          # the date its units took effect, where the data gives it
    has_districts: bool
    crosswalk_to_next: str | None   # None only for the latest vintage
    units: str | None = None        # its units listed whole: "vietnamadminunits:<table>"
    changes: str | None = None      # or the vintage before with the changes in this file

    @property
    def levels(self) -> tuple[str, ...]:
        """The administrative levels below the country, top down."""
        return _DISTRICT_LEVELS if self.has_districts else _COMMUNE_LEVELS


@dataclass(frozen=True)
class Comparison:
    """How an earlier survey year compares with a later one."""
    earlier: int
    later: int
    same_scheme: bool   # False: the method changed in between (not directly comparable)
    same_units: bool    # both years on one vintage
    restated: bool      # the earlier year is read from the restated series, on the later's units

    @property
    def comparable(self) -> bool:
        return self.same_scheme and (self.same_units or self.restated)


def _parse(data: dict, where: str) -> tuple[Vintage, ...]:
    rows = data.get("vintage")
    if not isinstance(rows, list) or not rows:
        raise CalendarError(f"{where}: no [[vintage]] listed")
    out: list[Vintage] = []
    for i, r in enumerate(rows):
        vid = r.get("id")
        if not isinstance(vid, str) or not vid:
            raise CalendarError(f"{where}: vintage {i + 1} has no id")
        if any(v.id == vid for v in out):
            raise CalendarError(f"{where}: vintage {vid!r} is listed twice")
        first, start = r.get("first_year"), r.get("start")
        if i and not isinstance(first, int):
            raise CalendarError(f"{where}: vintage {vid!r} needs a first_year (only the earliest has none)")
        before = out[-1].first_year if out else None
        if i and before is not None and first <= before:
            raise CalendarError(f"{where}: vintage {vid!r} starts no later than {out[-1].id!r}")
        if start is not None and not isinstance(start, _dt.date):
            raise CalendarError(f"{where}: vintage {vid!r}: start must be a date (YYYY-MM-DD)")
        if start is not None and first is not None and start.year > first:
            raise CalendarError(f"{where}: vintage {vid!r}: a survey of {first} cannot use units from {start}")
        if not isinstance(r.get("has_districts"), bool):
            raise CalendarError(f"{where}: vintage {vid!r} needs has_districts = true or false")
        units, changes = r.get("units") or None, r.get("changes") or None
        if (units is None) == (changes is None):
            raise CalendarError(f"{where}: vintage {vid!r} needs its units: either units = "
                                f"\"vietnamadminunits:<table>\" or changes = \"<file>.csv\" (not both)")
        if changes is not None and not i:
            raise CalendarError(f"{where}: vintage {vid!r}: the earliest vintage has no vintage before it to "
                                f"change; list its units instead")
        for key, value in (("units", units), ("changes", changes), ("crosswalk_to_next", r.get("crosswalk_to_next"))):
            if value is not None and not isinstance(value, str):
                raise CalendarError(f"{where}: vintage {vid!r}: {key} must be a file name in quotes")
        out.append(Vintage(vid, first, start, r["has_districts"], r.get("crosswalk_to_next") or None,
                           units, changes))
    for v in out[:-1]:
        if v.crosswalk_to_next is None:
            raise CalendarError(f"{where}: vintage {v.id!r} needs a crosswalk_to_next (a later vintage exists)")
    if out[-1].crosswalk_to_next is not None:
        raise CalendarError(f"{where}: vintage {out[-1].id!r} has a crosswalk to a vintage that is not listed")
    return tuple(out)


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[Vintage, ...]:
    with open(path, "rb") as f:
        return _parse(tomllib.load(f), Path(path).name)


# ---------------------------------------------------------------------------------------------
# Vintages
# ---------------------------------------------------------------------------------------------

def vintages() -> tuple[Vintage, ...]:
    """Every vintage, oldest first."""
    return _load(str(DATA_FILE))


def vintage_ids() -> tuple[str, ...]:
    return tuple(v.id for v in vintages())


def vintage_after(vintage_id: str) -> str | None:
    """The id of the vintage that followed ``vintage_id`` (None: it is the latest)."""
    ids = vintage_ids()
    i = ids.index(vintage(vintage_id).id)
    return ids[i + 1] if i + 1 < len(ids) else None


def vintage_before(vintage_id: str) -> str | None:
    """The id of the vintage ``vintage_id`` followed (None: it is the earliest)."""
    ids = vintage_ids()
    i = ids.index(vintage(vintage_id).id)
    return ids[i - 1] if i else None


def data_path(name: str) -> Path:
    """A data file the calendar names (a crosswalk or a changes file): an absolute path as it is,
    else beside the calendar file. ``geo`` also looks in its own data folder (``geo/data/``)."""
    path = Path(name)
    return path if path.is_absolute() else DATA_FILE.parent / path


def vintage(vintage_id: str) -> Vintage:
    for v in vintages():
        if v.id == str(vintage_id):
            return v
    raise CalendarError(f"unknown vintage {vintage_id!r}; expected one of {vintage_ids()}")


def _vintage_in_force(year: int) -> Vintage:
    year = int(year)
    found = vintages()[0]
    for v in vintages()[1:]:
        if year >= v.first_year:
            found = v
    return found


def vintage_for_year(year: int) -> str:
    """The id of the vintage a survey year is addressed to."""
    return _vintage_in_force(year).id


def levels_for_year(year: int) -> tuple[str, ...]:
    """Administrative levels that exist in a survey year, top down."""
    return _vintage_in_force(year).levels


def has_districts(year: int) -> bool:
    return _vintage_in_force(year).has_districts


def latest() -> Vintage:
    """The vintage in force now: a release's restated series is on its units."""
    return vintages()[-1]


def restated_before() -> int | None:
    """Survey years before this one are restated on the latest vintage (None: one vintage only)."""
    return latest().first_year


def reforms() -> tuple[int, ...]:
    """The first survey year of every vintage after the earliest."""
    return tuple(v.first_year for v in vintages()[1:])


def reform_between(a: int, b: int) -> bool:
    """True when the units changed between survey years ``a`` and ``b`` (either order)."""
    lo, hi = sorted((int(a), int(b)))
    return any(lo < r <= hi for r in reforms())


def districts_abolished() -> int | None:
    """The first survey year from which no vintage has districts (None if the latest has them)."""
    year = None
    for v in vintages():
        if v.has_districts:
            year = None
        elif year is None:
            year = v.first_year
    return year


# ---------------------------------------------------------------------------------------------
# Schemes
# ---------------------------------------------------------------------------------------------

def scheme_for_year(year: int) -> str:
    """The id of the scheme in force in a survey year; a year before every scheme counts as the
    earliest scheme's (there is nothing earlier to compare it with)."""
    try:
        return _scheme_in_force(int(year)).id
    except SchemeError:
        earliest = min(builtin_schemes().values(), key=lambda m: m.first_year)
        if int(year) < earliest.first_year:
            return earliest.id
        raise


def method_break_between(a: int, b: int) -> bool:
    """True when the scheme changed between survey years ``a`` and ``b`` (either order)."""
    lo, hi = sorted((int(a), int(b)))
    return any(scheme_for_year(y) != scheme_for_year(y - 1) for y in range(lo + 1, hi + 1))


# ---------------------------------------------------------------------------------------------
# Comparability
# ---------------------------------------------------------------------------------------------

def comparison(earlier: int, later: int) -> Comparison:
    """How ``earlier`` compares with ``later`` (see the module docstring for the rules)."""
    earlier, later = int(earlier), int(later)
    same_units = vintage_for_year(earlier) == vintage_for_year(later)
    restated = not same_units and earlier < later and vintage_for_year(later) == latest().id
    return Comparison(earlier, later, not method_break_between(earlier, later), same_units, restated)


def restated(earlier: int, later: int) -> bool:
    """True when ``earlier`` is read from the restated series to compare with ``later``."""
    return comparison(earlier, later).restated
