"""Where a unit went across a boundary reform, and where it came from (no Streamlit).

A unit is (vintage, code), never a code alone: the 2025 reform reused codes for other places
(the new Phường Hồng Ngự carries the code of the old Phường An Thạnh). The lineage follows the
calendar's chain of vintages (``sipas_data/calendar.toml``), one reform at a time, on the
crosswalk of each reform (``geo.crosswalk(old, new)`` and ``geo.split_communes(old)``),
commune by commune:

* :func:`successors` -- the units of the next vintage an old unit became part of: a commune's
  new commune (several when the crosswalk splits it, the official default first), a district's
  new communes, a province's new province;
* :func:`predecessors` -- the units of the vintage before that a unit was formed from (a split
  commune counts for each of its new communes);
* :func:`reach` and :func:`origins` -- the same across several reforms (2019 -> 2025 -> 2026),
  step by step;
* :func:`carry` -- where a view of a unit goes when its year crosses one reform or more: the one
  unit that contains it, or a place with a choice (:class:`Carry`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sipas_data import calendar


def vintage_after(vintage: str) -> str | None:
    return calendar.vintage_after(vintage)


def vintage_before(vintage: str) -> str | None:
    return calendar.vintage_before(vintage)


def has_crosswalk(old_vintage: str) -> bool:
    """The lineage knows the way out of ``old_vintage``: a later vintage follows it (the calendar
    then names the crosswalk to it, which ``geo.crosswalk`` reads)."""
    return vintage_after(old_vintage) is not None


def reform_date(vintage: str) -> str:
    """The day a vintage's units took effect, as Vietnamese write it (1/7/2025)."""
    start = calendar.vintage(vintage).start
    return f"{start.day}/{start.month}/{start.year}" if start else str(calendar.vintage(vintage).first_year)


@dataclass(frozen=True)
class _Maps:
    forward: dict[str, list[str]]    # old code (any level) -> new codes
    backward: dict[str, list[str]]   # new code (commune or province) -> old codes of the same level
    split: frozenset                 # old communes split among several new ones
    counted: dict[str, list[str]]    # new commune -> old communes the restated series counts in it


def _maps(old_vintage: str) -> _Maps:
    """The lineage of the reform out of ``old_vintage`` (one step)."""
    return _maps_in(str(calendar.DATA_FILE), str(old_vintage))


@lru_cache(maxsize=8)
def _maps_in(calendar_file: str, old_vintage: str) -> _Maps:
    import geo
    cw = geo.crosswalk(old_vintage, vintage_after(old_vintage))
    splits = geo.split_communes(old_vintage)
    fwd: dict[str, list[str]] = {}
    back: dict[str, list[str]] = {}
    split = set()
    counted: dict[str, list[str]] = {}
    for r in cw.itertuples(index=False):
        if r.new_commune_code:
            counted.setdefault(r.new_commune_code, []).append(r.old_commune_code)
        targets = splits.get(r.old_commune_code) if r.divided else None
        targets = targets or ([r.new_commune_code] if r.new_commune_code else [])
        if len(targets) > 1:
            split.add(r.old_commune_code)
        fwd[r.old_commune_code] = list(targets)
        for t in targets:
            back.setdefault(t, []).append(r.old_commune_code)
        if r.old_district_code:
            dist = fwd.setdefault(r.old_district_code, [])
            dist.extend(t for t in targets if t not in dist)
        if r.new_province_code:
            prov = fwd.setdefault(r.old_province_code, [])
            if r.new_province_code not in prov:
                prov.append(r.new_province_code)
            olds = back.setdefault(r.new_province_code, [])
            if r.old_province_code not in olds:
                olds.append(r.old_province_code)
    return _Maps(fwd, {k: sorted(set(v)) for k, v in back.items()}, frozenset(split),
                 {k: sorted(v) for k, v in counted.items()})


def _level(code: str, vintage: str) -> str | None:
    import geo
    u = geo.unit(code, vintage)
    return u["level"] if u else None


def successors(code: str, vintage: str) -> list[str]:
    """The next vintage's units that ``(vintage, code)`` became part of (empty: none, or no
    later vintage). A district's are the new communes its communes went to."""
    if vintage_after(vintage) is None or not has_crosswalk(vintage):
        return []
    return list(_maps(vintage).forward.get(str(code), []))


def containing(code: str, vintage: str) -> list[str]:
    """The next vintage's units that hold ``(vintage, code)`` whole or in part, at the most
    detailed level that exists for it: a commune's new communes; a district: the new districts,
    or the new provinces when the next vintage has no districts; a province: the new provinces."""
    nxt = vintage_after(vintage)
    if nxt is None or not has_crosswalk(vintage):
        return []
    level = _level(code, vintage)
    if level == "commune":
        return successors(code, vintage)
    if level == "district":
        import geo
        column = "district_code" if calendar.vintage(nxt).has_districts else "province_code"
        news = [geo.unit(c, nxt) for c in successors(code, vintage)]
        return list(dict.fromkeys(u[column] for u in news if u))
    return successors(code, vintage)


def is_split(code: str, vintage: str) -> bool:
    return has_crosswalk(vintage) and str(code) in _maps(vintage).split


def predecessors(code: str, vintage: str) -> list[str]:
    """The previous vintage's units (same level) that ``(vintage, code)`` was formed from."""
    before = vintage_before(vintage)
    if before is None or not has_crosswalk(before):
        return []
    return list(_maps(before).backward.get(str(code), []))


def restated_from(code: str, vintage: str) -> list[str]:
    """The old units whose forms the release's restated series counts in ``(vintage, code)``:
    the crosswalk's default for a split commune (the engine restates a form once), so a split
    commune counts in one new commune only; a province: its old provinces."""
    before = vintage_before(vintage)
    if before is None or not has_crosswalk(before):
        return []
    m = _maps(before)
    if str(code) in m.counted:
        return list(m.counted[str(code)])
    return [c for c in m.backward.get(str(code), []) if c not in m.forward or _level(c, before) != "commune"]


def _position(vintage: str) -> int:
    return calendar.vintage_ids().index(str(vintage))


def reach(code: str, va: str, vb: str) -> list[str]:
    """The units of a later vintage ``vb`` that hold ``(va, code)``, reform by reform
    (:func:`containing` at each step; the official defaults first)."""
    codes, v = [str(code)], str(va)
    while v != str(vb) and codes:
        codes = list(dict.fromkeys(c for old in codes for c in containing(old, v)))
        v = vintage_after(v)
    return codes


def origins(code: str, va: str, vb: str) -> list[str]:
    """The units of an earlier vintage ``vb`` that ``(va, code)`` was formed from, reform by
    reform (:func:`predecessors` at each step)."""
    codes, v = [str(code)], str(va)
    while v != str(vb) and codes:
        codes = sorted({c for new in codes for c in predecessors(new, v)})
        v = vintage_before(v)
    return codes


@dataclass(frozen=True)
class Carry:
    """Where a view of a unit goes when the year moves to another vintage."""
    unit: str               # the unit shown in the new year (COUNTRY when nothing closer has data)
    choices: tuple = ()     # other units of the new year the old one maps to (a choice to offer)
    kind: str = "same"      # same | part_of | split | formed_from | none


def carry(has_data, code: str, va: str, vb: str, country: str = "VN") -> Carry:
    """Carry ``(va, code)`` to vintage ``vb``. ``has_data(code)``: the release has the unit of
    ``vb`` in the year shown.

    Forward (old -> new): the new unit that contains it (``part_of``), or, split, the official
    default with the others as choices (``split``). Backward (new -> old): the one old unit it
    was formed from, or the old units with data as choices, shown from their common parent
    (``formed_from``). Across several reforms the steps are chained (:func:`reach`,
    :func:`origins`)."""
    import geo
    va, vb = str(va), str(vb)
    if va == vb or code == country:
        return Carry(code)
    if _position(vb) > _position(va):
        targets = [c for c in reach(code, va, vb) if has_data(c)]
        if not targets:
            return Carry(country, (), "none")
        kind = "split" if len(targets) > 1 else "part_of"
        return Carry(targets[0], tuple(targets[1:]), kind)
    olds = [c for c in origins(code, va, vb) if has_data(c)]
    if not olds:
        return Carry(country, (), "none")
    if len(olds) == 1:
        return Carry(olds[0], (), "formed_from")
    parents = {(geo.unit(c, vb) or {}).get("parent_code") for c in olds}
    parent = parents.pop() if len(parents) == 1 else None
    if parent is None or not has_data(parent):
        provs = {(geo.unit(c, vb) or {}).get("province_code") for c in olds}
        parent = provs.pop() if len(provs) == 1 else country
        parent = parent if parent and has_data(parent) else country
    return Carry(parent, tuple(olds), "formed_from")
