"""Methodologies as data: load and validate a SIPAS scheme definition.

A scheme (``sipas-2017``, ``sipas-2022``, or a province's own) is a JSON file in
``sipas_data/methodologies/``. The engine reads everything it computes from it: items and the
elements and aspects they roll up to, the answer scale, expectation options, perception
questions, services and the configurable rules. Nothing about a scheme is hard-coded in Python.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEME_DIR = Path(__file__).parent / "methodologies"
PROFILE_FILE = SCHEME_DIR / "profile.json"
PROFILE_DIMENSIONS = ("gender", "age_group", "education", "occupation", "ethnicity")
SERVICE_LEVELS = ("district", "commune")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")

#: The rules a definition may set, and for each the values the engine computes (sipas_data/engine.py):
#: a value it does not implement is refused, so the methodology page never states a rule that was
#: not applied. ``expectation`` follows the expectation block's kind (see _check_rules).
KNOWN_RULES = {
    "element": {"mean_of_items"},
    "aspect": {"mean_of_elements"},
    "sipas": {"mean_of_elements", "mean_of_aspects"},
    # a services-only survey: SIPAS is the service aspect (needs the policy and services aspects)
    "sipas_without_policy": {"services_aspect"},
    "expectation": {"ticked_share", "high_levels_share"},
    # higher levels pooled from their respondents; a mean of units exists only in official figures
    "national": {"pooled"},
}
#: The intervals the engine computes: Wilson for proportions, the linearisation over respondent
#: scores for composites, at the 95 % level (a constant of the engine, engine.Z95).
KNOWN_INTERVAL = {
    "item": {"wilson"},
    "composite": {"linearised_respondent_scores"},
    "level": {0.95},
}
#: The expectation rule each kind of expectation block is computed by.
EXPECTATION_RULE = {"multi_select": "ticked_share", "rated": "high_levels_share"}
RULE_KEYS = (*KNOWN_RULES, "interval", "suppression_threshold")


class SchemeError(ValueError):
    """A definition file is broken; the message names the file and the place in it."""


@dataclass(frozen=True)
class Item:
    id: str
    element: str
    label: dict[str, str]
    from_year: int | None = None
    to_year: int | None = None

    def asked_in(self, year: int) -> bool:
        return (self.from_year is None or year >= self.from_year) and (
            self.to_year is None or year <= self.to_year)


@dataclass(frozen=True)
class Element:
    id: str
    label: dict[str, str]
    aspect: str | None
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Option:
    id: str
    label: dict[str, str]
    code: int | None = None


@dataclass(frozen=True)
class Perception:
    id: str
    label: dict[str, str]
    options: tuple[Option, ...]

    @property
    def column(self) -> str:
        return f"perception_{self.id}"


@dataclass(frozen=True)
class Service:
    id: str
    level: str
    label: dict[str, str]


@dataclass(frozen=True)
class Scheme:
    id: str
    first_year: int
    last_year: int | None
    legal_basis: dict[str, str]  # by language; a plain text in the file serves both
    label: dict[str, str]
    valid_answers: tuple[int, ...]
    satisfied_answers: tuple[int, ...]
    scale_labels: dict[str, dict[str, str]]
    aspects: tuple[Option, ...]
    elements: tuple[Element, ...]
    expectation_kind: str | None
    expectation_label: dict[str, str]
    expectation_options: tuple[Option, ...]
    expectation_scale: dict[str, dict[str, str]]
    expectation_high: tuple[int, ...]
    perceptions: tuple[Perception, ...]
    services: tuple[Service, ...]
    profile: dict[str, dict[str, Any]]
    rules: dict[str, Any]
    source: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    # -- lookups -----------------------------------------------------------------------------
    def covers(self, year: int) -> bool:
        return year >= self.first_year and (self.last_year is None or year <= self.last_year)

    def items(self, year: int | None = None) -> list[Item]:
        """Items of the scheme, or only those asked in ``year``."""
        return [it for el in self.elements for it in el.items if year is None or it.asked_in(year)]

    def item_ids(self, year: int | None = None) -> list[str]:
        return [it.id for it in self.items(year)]

    def element(self, element_id: str) -> Element:
        return next(el for el in self.elements if el.id == element_id)

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def expectation_columns(self) -> list[str]:
        return [f"expect_{o.id}" for o in self.expectation_options]

    @property
    def suppression_threshold(self) -> int:
        return int(self.rules.get("suppression_threshold", 30))

    def label_of(self, indicator: str, lang: str = "vi") -> str:
        """Human label for an indicator id such as ``element:access`` or ``item:access_1``."""
        kind, _, rest = indicator.partition(":")
        if kind == "sipas":
            return "Chỉ số SIPAS" if lang == "vi" else "SIPAS index"
        if kind == "element":
            return self.element(rest).label[lang]
        if kind == "aspect":
            return next(a.label[lang] for a in self.aspects if a.id == rest)
        if kind == "item":
            return next(it.label[lang] for it in self.items() if it.id == rest)
        if kind == "expectation":
            return next(o.label[lang] for o in self.expectation_options if o.id == rest)
        if kind == "perception":
            qid, _, oid = rest.partition(":")
            q = next(p for p in self.perceptions if p.id == qid)
            return f"{q.label[lang]}: {next(o.label[lang] for o in q.options if o.id == oid)}"
        raise KeyError(indicator)


def _need(d: dict, key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if key not in d:
        raise SchemeError(f"{where}: missing '{key}'")
    value = d[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SchemeError(f"{where}: '{key}' should be {names}, got {type(value).__name__}")
    return value


def _label(d: dict, where: str) -> dict[str, str]:
    label = _need(d, "label", where, dict)
    for lang in ("vi", "en"):
        if not isinstance(label.get(lang), str) or not label[lang].strip():
            raise SchemeError(f"{where}: label needs a non-empty '{lang}' text")
    return label


def _ident(d: dict, where: str, pattern: re.Pattern = _ID) -> str:
    value = _need(d, "id", where, str)
    if not pattern.match(value):
        raise SchemeError(f"{where}: id '{value}' should be lower-case letters, digits and _")
    return value


def _legal_basis(data: dict, where: str) -> dict[str, str]:
    basis = data.get("legal_basis", "")
    if isinstance(basis, str):
        return {"vi": basis, "en": basis}
    if isinstance(basis, dict) and all(isinstance(basis.get(k), str) and basis[k].strip() for k in ("vi", "en")):
        return {"vi": basis["vi"], "en": basis["en"]}
    raise SchemeError(f"{where}: 'legal_basis' should be a text or an object with 'vi' and 'en' texts")


def _allowed(values) -> str:
    return ", ".join(repr(v) for v in sorted(values))


def _check_rules(rules: dict, where: str, aspect_ids: set[str], exp_kind: str | None) -> None:
    """Refuse a rule the engine does not apply, naming the file, the key and the values accepted."""
    for key in rules:
        if key not in RULE_KEYS:
            raise SchemeError(f"{where}: rules.{key} is not a rule the engine applies; "
                                   f"the rules are {', '.join(RULE_KEYS)}")
    for key, allowed in KNOWN_RULES.items():
        if key in rules and rules[key] not in allowed:
            raise SchemeError(f"{where}: rules.{key} is {rules[key]!r}; the engine applies only "
                                   f"{_allowed(allowed)}")
    if rules.get("sipas") == "mean_of_aspects" and not aspect_ids:
        raise SchemeError(f"{where}: rules.sipas is mean_of_aspects but the scheme has no aspects")
    if "sipas_without_policy" in rules and (rules.get("sipas") != "mean_of_aspects"
                                            or not {"policy", "services"} <= aspect_ids):
        raise SchemeError(f"{where}: rules.sipas_without_policy applies only with rules.sipas "
                               f"'mean_of_aspects' and the aspects 'policy' and 'services'")
    if "expectation" in rules:
        expected = EXPECTATION_RULE.get(exp_kind)
        if expected is None:
            raise SchemeError(f"{where}: rules.expectation is set but the scheme has no expectations")
        if rules["expectation"] != expected:
            raise SchemeError(f"{where}: rules.expectation is {rules['expectation']!r}; expectations of "
                                   f"kind '{exp_kind}' are computed as {expected!r} only")
    iv = rules.get("interval")
    if iv is not None:
        if not isinstance(iv, dict):
            raise SchemeError(f"{where}: rules.interval should be an object with "
                                   f"{', '.join(KNOWN_INTERVAL)}")
        for key, value in iv.items():
            if key not in KNOWN_INTERVAL:
                raise SchemeError(f"{where}: rules.interval.{key} is not set by a scheme; "
                                       f"the keys are {', '.join(KNOWN_INTERVAL)}")
            if value not in KNOWN_INTERVAL[key] or isinstance(value, bool):
                raise SchemeError(f"{where}: rules.interval.{key} is {value!r}; the engine applies only "
                                       f"{_allowed(KNOWN_INTERVAL[key])}")


def parse_scheme(data: dict, name: str = "<definition>") -> Scheme:
    """Validate a definition (already parsed JSON) and build a :class:`Scheme`."""
    where = name
    mid = _need(data, "id", where, str)
    years = _need(data, "years", where, dict)
    first = _need(years, "from", f"{where}: years", int)
    last = years.get("to")
    if last is not None and (not isinstance(last, int) or last < first):
        raise SchemeError(f"{where}: years.to should be a year not before years.from ({first})")
    scale = _need(data, "scale", where, dict)
    valid = tuple(_need(scale, "valid", f"{where}: scale", list))
    satisfied = tuple(_need(scale, "satisfied", f"{where}: scale", list))
    if not valid or not all(isinstance(v, int) for v in valid):
        raise SchemeError(f"{where}: scale.valid should be a list of whole numbers")
    if not set(satisfied) <= set(valid) or not satisfied:
        raise SchemeError(f"{where}: scale.satisfied {list(satisfied)} must be a non-empty part of "
                               f"scale.valid {list(valid)}")

    aspects = tuple(Option(_ident(a, f"{where}: aspects[{i}]"), _label(a, f"{where}: aspects[{i}]"))
                    for i, a in enumerate(data.get("aspects", [])))
    aspect_ids = {a.id for a in aspects}

    elements: list[Element] = []
    seen_items: set[str] = set()
    for i, el in enumerate(_need(data, "elements", where, list)):
        ew = f"{where}: elements[{i}]"
        eid = _ident(el, ew)
        aspect = el.get("aspect")
        if aspects and aspect not in aspect_ids:
            raise SchemeError(f"{ew} ({eid}): aspect '{aspect}' is not one of {sorted(aspect_ids)}")
        items = []
        for j, it in enumerate(_need(el, "items", ew, list)):
            iw = f"{ew}.items[{j}]"
            iid = _ident(it, iw)
            if not iid.startswith(eid + "_"):
                raise SchemeError(f"{iw}: item id '{iid}' should start with its element id '{eid}_'")
            if iid in seen_items:
                raise SchemeError(f"{iw}: item id '{iid}' appears twice")
            seen_items.add(iid)
            items.append(Item(iid, eid, _label(it, iw), it.get("from"), it.get("to")))
        if not items:
            raise SchemeError(f"{ew} ({eid}): an element needs at least one item")
        elements.append(Element(eid, _label(el, ew), aspect, tuple(items)))
    if not elements:
        raise SchemeError(f"{where}: no elements")

    exp = data.get("expectations") or {}
    exp_kind = exp.get("kind") if exp else None
    if exp and exp_kind not in ("multi_select", "rated"):
        raise SchemeError(f"{where}: expectations.kind should be 'multi_select' or 'rated'")
    exp_options = tuple(Option(_ident(o, f"{where}: expectations.options[{i}]", re.compile(r"^[a-z0-9_]+$")),
                               _label(o, f"{where}: expectations.options[{i}]"))
                        for i, o in enumerate(exp.get("options", [])))

    perceptions = []
    for i, p in enumerate(data.get("perceptions", [])):
        pw = f"{where}: perceptions[{i}]"
        opts = tuple(Option(_ident(o, f"{pw}.options[{j}]"), _label(o, f"{pw}.options[{j}]"),
                            _need(o, "code", f"{pw}.options[{j}]", int))
                     for j, o in enumerate(_need(p, "options", pw, list)))
        perceptions.append(Perception(_ident(p, pw), _label(p, pw), opts))

    services = []
    for i, s in enumerate(_need(data, "services", where, list)):
        sw = f"{where}: services[{i}]"
        level = _need(s, "level", sw, str)
        if level not in SERVICE_LEVELS:
            raise SchemeError(f"{sw}: level '{level}' should be one of {list(SERVICE_LEVELS)}")
        services.append(Service(_ident(s, sw), level, _label(s, sw)))
    if len({s.id for s in services}) != len(services):
        raise SchemeError(f"{where}: a service id appears twice")

    rules = dict(_need(data, "rules", where, dict))
    _check_rules(rules, where, aspect_ids, exp_kind)
    threshold = rules.setdefault("suppression_threshold", 30)
    if not isinstance(threshold, int) or threshold < 1:
        raise SchemeError(f"{where}: rules.suppression_threshold should be a whole number of at least 1")

    profile = data.get("profile") or json.loads(PROFILE_FILE.read_text(encoding="utf-8"))
    for dim in profile:
        if dim not in PROFILE_DIMENSIONS:
            raise SchemeError(f"{where}: profile dimension '{dim}' is not one of {list(PROFILE_DIMENSIONS)}")

    return Scheme(
        id=mid, first_year=first, last_year=last, legal_basis=_legal_basis(data, where),
        label=_label(data, where), valid_answers=valid, satisfied_answers=satisfied,
        scale_labels=scale.get("labels", {}), aspects=aspects, elements=tuple(elements),
        expectation_kind=exp_kind, expectation_label=exp.get("label", {}),
        expectation_options=exp_options, expectation_scale=exp.get("scale", {}),
        expectation_high=tuple(exp.get("high", [])), perceptions=tuple(perceptions),
        services=tuple(services), profile=profile, rules=rules, source=data)


def load_scheme_file(path: str | Path) -> Scheme:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SchemeError(
            f"{path.name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    if not isinstance(data, dict):
        raise SchemeError(f"{path.name}: the file should hold one JSON object")
    return parse_scheme(data, path.name)


@lru_cache(maxsize=None)
def builtin_schemes() -> dict[str, Scheme]:
    """The shipped schemes, by id."""
    out = {}
    for path in sorted(SCHEME_DIR.glob("sipas-*.json")):
        m = load_scheme_file(path)
        out[m.id] = m
    return out


def get_scheme(scheme_id: str) -> Scheme:
    try:
        return builtin_schemes()[scheme_id]
    except KeyError:
        raise SchemeError(
            f"unknown scheme '{scheme_id}'; known: {', '.join(builtin_schemes())}") from None


def scheme_for_year(year: int) -> Scheme:
    """The scheme in force for a survey year (the latest one that covers it)."""
    for m in sorted(builtin_schemes().values(), key=lambda m: m.first_year, reverse=True):
        if m.covers(year):
            return m
    raise SchemeError(f"no scheme covers the survey year {year}")
