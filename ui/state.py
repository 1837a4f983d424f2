"""The view as a URL: parse query parameters into a validated ViewState, and back.

Streamlit-free. ``parse_view(params, offer)`` never raises: every bad or stale value falls back
to a default and adds a human notice (in the view's language). ``to_params(state)`` gives the
query parameters that reproduce the view; ``parse_view(to_params(s), offer)`` returns ``s``.
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

    def with_(self, **kw) -> "ViewState":
        return replace(self, **kw)


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
    if raw is not None:
        if raw == COUNTRY or offer.unit(year, raw) is not None:
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
                      indicator=indicator, lang=lang, map=style, compare=tuple(compare), mode=mode)
    return state, notices


def to_params(state: ViewState) -> dict[str, str]:
    """Query parameters that reproduce ``state`` (every field, so a link is self-contained)."""
    out = {"release": state.release, "year": str(state.year), "level": state.level, "unit": state.unit,
           "service": state.service, "indicator": state.indicator, "lang": state.lang, "map": state.map}
    if state.compare:
        out["units"] = ",".join(state.compare)
    if state.mode:
        out["mode"] = state.mode
    return out


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
