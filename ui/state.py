"""The view as a URL: parse query parameters into a validated ViewState, and back.

Streamlit-free. ``parse_view(params, offer)`` never raises: every bad or stale value falls back
to a default and adds a human notice (in the view's language). ``to_params(state)`` gives the
query parameters that reproduce the view; ``parse_view(to_params(s), offer)`` returns ``s``.

A unit is (vintage, code): ``unit`` is the code in the vintage of ``year`` (the 2025 reform reused
codes for other places). When the year moves to another vintage the unit is carried by its
lineage (``ui.lineage.carry``) and ``from`` (``vintage:code``) records where the view came from,
so the page says what happened instead of silently showing another place.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

from sipas_data import calendar

from .strings import level_label, t

LEVEL_ORDER = ("country", "province", "district", "commune")
MAP_STYLES = ("tiles", "boundaries")
MAX_COMPARE = 5
MODES = ("embed", "present")
COUNTRY = "VN"


def level_rank(level: str) -> int:
    return LEVEL_ORDER.index(level)


@dataclass(frozen=True)
class UnitRef:
    code: str
    level: str
    parent: str | None
    name: str
    province: str | None = None


@dataclass
class Offer:
    """What one release offers, per year (built from the release by the Streamlit glue)."""
    release_ids: list[str]
    release: str
    years: list[int]
    units: dict[int, dict[str, UnitRef]]          # units with data (plus "VN") per year
    levels: dict[int, list[str]]                  # levels with units per year, top down
    services: dict[int, list[str]]                # "all" first
    indicators: dict[int, list[str]]              # "sipas" first
    boundaries: set = field(default_factory=set)  # {(vintage, level)} installed

    def unit(self, year: int, code: str) -> UnitRef | None:
        return self.units.get(year, {}).get(code)

    def default_unit(self, year: int) -> str:
        provinces = [u for u in self.units.get(year, {}).values() if u.level == "province"]
        return provinces[0].code if len(provinces) == 1 else COUNTRY

    def child_level(self, year: int, level: str) -> str | None:
        below = [lv for lv in self.levels.get(year, []) if level_rank(lv) > level_rank(level)]
        return below[0] if below else None


@dataclass(frozen=True)
class ViewState:
    release: str
    year: int
    level: str
    unit: str
    service: str = "all"
    indicator: str = "sipas"
    lang: str = "vi"
    map: str = "tiles"
    compare: tuple[str, ...] = ()
    mode: str = ""  # "" (full page), "embed" (primary chart only) or "present" (no controls)
    origin: str = ""  # "vintage:code" of the unit the view was carried from across a reform, else ""

    def with_(self, **kw) -> "ViewState":
        return replace(self, **kw)

    @property
    def vintage(self) -> str:
        """The vintage of the units of the view's year: ``unit`` is a code of it."""
        return vintage_of(self.year)


def _one(params: Mapping, key: str) -> str | None:
    v = params.get(key)
    if isinstance(v, (list, tuple)):
        v = v[-1] if v else None
    if v is None:
        return None
    v = str(v).strip()
    return v or None


def vintage_of(year: int) -> str:
    return calendar.vintage_for_year(year)


def default_level(offer: Offer, year: int, unit: str) -> str:
    ref = offer.unit(year, unit)
    lv = ref.level if ref else "country"
    return offer.child_level(year, lv) or lv


def parse_view(params: Mapping, offer: Offer) -> tuple[ViewState, list[str]]:
    """Validate ``params`` (a dict of query parameters) against ``offer``."""
    notices: list[str] = []
    lang = _one(params, "lang") or "vi"
    if lang not in ("vi", "en"):
        notices.append(t("notice_lang", "vi", value=lang[:40]))
        lang = "vi"

    raw = _one(params, "release")
    if raw is not None and raw != offer.release:
        notices.append(t("notice_release", lang, value=raw[:60], fallback=offer.release))

    latest = max(offer.years)
    raw = _one(params, "year")
    year = latest
    if raw is not None:
        try:
            year = int(raw)
        except ValueError:
            year = None
        if year not in offer.years:
            notices.append(t("notice_year", lang, value=raw[:20], fallback=latest))
            year = latest

    default_u = offer.default_unit(year)
    raw = _one(params, "unit")
    unit = default_u
    origin = ""
    raw_from = _one(params, "from")
    src = _origin(raw_from, year) if raw_from else None
    if raw is not None:
        if src is None and raw != COUNTRY and offer.unit(year, raw) is None:
            src = _origin_of_stale(offer, raw, year)
        if src is not None and (raw == COUNTRY or offer.unit(year, raw) is not None or src[1] == raw):
            # carried across a reform: the unit of this year that the source unit maps to
            unit, note = _carried(offer, src, raw, year, lang)
            origin = f"{src[0]}:{src[1]}"
            notices.append(note)
        elif raw == COUNTRY or offer.unit(year, raw) is not None:
            unit = raw
        else:
            fb = offer.unit(year, default_u)
            notices.append(t("notice_unit", lang, value=raw[:20], year=year,
                             fallback=fb.name if fb else t("nationwide", lang)))
    ulevel = offer.unit(year, unit).level if unit != COUNTRY and offer.unit(year, unit) else "country"

    raw = _one(params, "level")
    level = default_level(offer, year, unit)
    if raw is not None and raw != level:
        ok = raw in offer.levels.get(year, []) and level_rank(raw) >= level_rank(ulevel) and raw != "country"
        if ok:
            level = raw
        else:
            notices.append(t("notice_level", lang, value=raw[:20], fallback=level_label(level, lang)))

    raw = _one(params, "service")
    service = "all"
    if raw is not None:
        if raw in offer.services.get(year, []):
            service = raw
        else:
            notices.append(t("notice_service", lang, value=raw[:40], year=year))

    raw = _one(params, "indicator")
    indicator = "sipas"
    if raw is not None:
        if raw in offer.indicators.get(year, []):
            indicator = raw
        else:
            notices.append(t("notice_indicator", lang, value=raw[:60], year=year))

    style_default = "boundaries" if (vintage_of(year), level) in offer.boundaries else "tiles"
    raw = _one(params, "map")
    style = style_default
    if raw is not None:
        if raw not in MAP_STYLES:
            notices.append(t("notice_map_value", lang, value=raw[:20],
                             fallback=t("map_" + style_default, lang)))
        elif raw == "boundaries" and (vintage_of(year), level) not in offer.boundaries:
            notices.append(t("notice_map", lang))
            style = "tiles"
        else:
            style = raw

    raw = _one(params, "units")
    compare: list[str] = []
    if raw is not None:
        bad = []
        for code in raw.split(","):
            code = code.strip()
            if not code or code in compare:
                continue
            if offer.unit(year, code) is not None and code != COUNTRY:
                compare.append(code)
            else:
                bad.append(code[:20])
        if bad:
            notices.append(t("notice_compare", lang, year=year, value=", ".join(bad[:5])))
        if len(compare) > MAX_COMPARE:
            notices.append(t("notice_compare_max", lang, max=MAX_COMPARE))
            compare = compare[:MAX_COMPARE]

    raw = _one(params, "mode")
    mode = ""
    if raw is not None:
        if raw in MODES:
            mode = raw
        else:
            notices.append(t("notice_mode", lang, value=raw[:20]))

    state = ViewState(release=offer.release, year=year, level=level, unit=unit, service=service,
                      indicator=indicator, lang=lang, map=style, compare=tuple(compare), mode=mode,
                      origin=origin)
    return state, notices


def to_params(state: ViewState) -> dict[str, str]:
    """Query parameters that reproduce ``state`` (every field, so a link is self-contained)."""
    out = {"release": state.release, "year": str(state.year), "level": state.level, "unit": state.unit,
           "service": state.service, "indicator": state.indicator, "lang": state.lang, "map": state.map}
    if state.compare:
        out["units"] = ",".join(state.compare)
    if state.mode:
        out["mode"] = state.mode
    if state.origin:
        out["from"] = state.origin
    return out


def _origin(raw: str, year: int) -> tuple[str, str] | None:
    """``vintage:code`` of another vintage than ``year``'s, naming a unit of it; else None."""
    import geo
    vintage, _, code = raw.partition(":")
    if vintage not in calendar.vintage_ids() or vintage == vintage_of(year) or not code:
        return None
    return (vintage, code) if geo.unit(code, vintage) is not None else None


def _origin_of_stale(offer: Offer, code: str, year: int) -> tuple[str, str] | None:
    """A code the year's units lack that another vintage of the release has: where it came from."""
    for y in sorted(offer.years, reverse=True):
        if vintage_of(y) != vintage_of(year) and offer.unit(y, code) is not None:
            return vintage_of(y), code
    return None


def _old_name(vintage: str, code: str, lang: str) -> str:
    import geo
    u = geo.unit(code, vintage) if code != COUNTRY else None
    return u["name"] if u else (t("nationwide", lang) if code == COUNTRY else code)


def carry(offer: Offer, vintage: str, code: str, year: int):
    """Where ``(vintage, code)`` goes in ``year`` (see ``ui.lineage.carry``)."""
    from . import lineage
    return lineage.carry(lambda c: offer.unit(year, c) is not None, code, vintage, vintage_of(year), COUNTRY)


def _carried(offer: Offer, src: tuple[str, str], raw: str, year: int, lang: str) -> tuple[str, str]:
    """(unit shown in ``year``, the notice saying why) for a view carried from ``src``. ``raw``:
    the unit the URL asks for (one of the choices, when the user picked one)."""
    from . import lineage
    c = carry(offer, *src, year)
    options = [c.unit, *c.choices]
    unit = raw if raw in options or (raw != src[1] and offer.unit(year, raw) is not None) else c.unit
    later = calendar.vintage_ids().index(vintage_of(year)) > calendar.vintage_ids().index(src[0])
    date = lineage.reform_date(vintage_of(year) if later else src[0])
    old = _old_name(*src, lang)

    def name(code: str) -> str:  # a unit of ``year``; the same name on both sides says which is which
        label = unit_label(offer, year, code, lang)
        if label != old:
            return label
        return t("unit_since" if later else "unit_before", lang, name=label, date=date)
    old_year = max((y for y in offer.years if vintage_of(y) == src[0]), default=year)
    kw = dict(old=old, old_year=old_year, year=year, date=date, new=name(unit), shown=name(unit))
    if c.kind == "part_of":
        return unit, t("notice_carry_part_of", lang, **kw)
    if c.kind == "split":
        return unit, t("notice_carry_split", lang, choices=", ".join(name(x) for x in options), **kw)
    if c.kind == "formed_from":
        olds = lineage.origins(src[1], src[0], vintage_of(year)) or list(c.choices or (c.unit,))
        return unit, t("notice_carry_formed", lang, choices=", ".join(
            name(x) if offer.unit(year, x) else _old_name(vintage_of(year), x, lang) for x in olds), **kw)
    return unit, t("notice_carry_none", lang, **kw)


_TYPE_SHORT = (("Thành phố ", "TP "), ("Thị xã ", "TX "), ("Huyện ", "H. "), ("Quận ", "Q. "), ("Tỉnh ", ""))


def short_name(name: str) -> str:
    """A parent's name as a qualifier: "Thành phố Cao Lãnh" -> "TP Cao Lãnh"."""
    for long, short in _TYPE_SHORT:
        if name.startswith(long):
            return short + name[len(long):]
    return name


def unit_label(offer: Offer, year: int, code: str, lang: str = "vi") -> str:
    """The unit's name, told apart by its parent when another unit of the year has the same
    name ("Phường 1 · TP Cao Lãnh")."""
    if code == COUNTRY:
        return t("nationwide", lang)
    ref = offer.unit(year, code)
    if ref is None:
        return code
    if ref.name not in _repeated_names(offer, year):
        return ref.name
    parent = offer.unit(year, ref.parent) if ref.parent and ref.parent != COUNTRY else None
    return f"{ref.name} · {short_name(parent.name)}" if parent else f"{ref.name} ({code})"


def _repeated_names(offer: Offer, year: int) -> frozenset:
    memo = offer.__dict__.setdefault("_repeated", {})
    if year not in memo:
        seen, twice = set(), set()
        for r in offer.units.get(year, {}).values():
            (twice if r.name in seen else seen).add(r.name)
        memo[year] = frozenset(twice)
    return memo[year]


def ancestors(offer: Offer, year: int, code: str) -> list[UnitRef]:
    """The chain from the top unit down to ``code`` (inclusive), for breadcrumbs."""
    chain = []
    seen = set()
    ref = offer.unit(year, code)
    while ref is not None and ref.code not in seen:
        chain.append(ref)
        seen.add(ref.code)
        ref = offer.unit(year, ref.parent) if ref.parent else None
    return list(reversed(chain))


def map_area(offer: Offer, state: ViewState) -> tuple[str, str | None]:
    """(area code whose units at ``state.level`` are drawn, highlighted unit or None).

    A unit above the level is the area (drill-down view); a unit at the level is shown among its
    siblings, highlighted."""
    if state.unit == COUNTRY:
        return COUNTRY, None
    ref = offer.unit(state.year, state.unit)
    if ref is None:
        return COUNTRY, None
    if level_rank(ref.level) < level_rank(state.level):
        return ref.code, None
    parent = ref.parent or COUNTRY
    # the area is the unit's parent one level above the shown level
    p = offer.unit(state.year, parent)
    while p is not None and level_rank(p.level) >= level_rank(state.level):
        parent = p.parent or COUNTRY
        p = offer.unit(state.year, parent)
    return parent, ref.code


def units_in_area(offer: Offer, year: int, area: str, level: str) -> list[UnitRef]:
    """Units with data at ``level`` inside ``area`` (any depth), in code order."""
    out = []
    for ref in offer.units.get(year, {}).values():
        if ref.level != level:
            continue
        if area == COUNTRY or area in _chain_codes(offer, year, ref):
            out.append(ref)
    return sorted(out, key=lambda r: r.code)


def _chain_codes(offer: Offer, year: int, ref: UnitRef) -> set[str]:
    codes = set()
    p = ref.parent
    while p and p not in codes:
        codes.add(p)
        pr = offer.unit(year, p)
        p = pr.parent if pr else None
    return codes
