"""Stage *rules*: every check a form is put to, one function per subject, in the order they run.

Each rule reads the columns it needs from :class:`Forms` (the file's text cells and what earlier
rules decided), writes its canonical columns into ``forms.out`` and adds a message for each row
that fails to ``forms.err``, naming the column, the value and what was expected. Rules work on
whole columns (boolean masks and parsers run once per distinct value), never row by row.
:func:`check` runs them all.
"""
from __future__ import annotations

import datetime as _dt
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import calendar, schema
from ..scheme import PROFILE_DIMENSIONS, Scheme, SchemeError, scheme_for_year
from . import parsers
from .cells import Cells, per_combination
from .errors import RowErrors
from .headers import _all_columns, _schemes, norm
from .parsers import NO_ANSWER
from .read import Table

#: A form is collected in its survey year; late returns may come in until this day of the next
#: year. A date outside (0001-01-01, 2099-12-31) is a typing mistake, not a form of that year.
LATE_RETURNS_UNTIL = (6, 30)


def _num(n: int) -> str:
    return f"{n:,}".replace(",", " ")


@dataclass
class Forms:
    """One file's rows on their way through the rules: the text cells and what earlier rules
    decided, each as :class:`Cells` (a value per distinct text, a code per row) or one boolean
    per row."""
    table: Table
    mapping: dict[str, str]                     # canonical column -> column name in the table
    err: RowErrors
    out: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # decided by the year rule, read by the later ones
    year: Cells | None = None                   # int, or None where there is no valid year
    yr: np.ndarray | None = None                # int per row, 0 where there is no valid year
    has_year: np.ndarray | None = None
    post: np.ndarray | None = None              # a valid year whose units have no districts
    pre: np.ndarray | None = None               # a valid year with districts
    level: Cells | None = None                  # agency level, decided by the service rule
    _stripped: dict[str, Cells] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def n(self) -> int:
        return self.table.n

    @property
    def year_s(self) -> Cells:
        """The year as text, for messages ("None" where there is none)."""
        return self.year.map(str)

    def raw(self, c: str) -> Cells:
        """A canonical column's text as read."""
        return self.table.column(self.mapping[c])

    def col(self, c: str) -> Cells:
        """A canonical column's text, stripped (empty when the file does not have it)."""
        if c not in self._stripped:
            if c in self.mapping:
                self._stripped[c] = self.raw(c).stripped()
            else:
                self._stripped[c] = Cells.full(self.n, "")
        return self._stripped[c]


def _given(v) -> bool:
    """Neither empty nor unreadable (a value a parser refused is None)."""
    return v is not None and v != ""


def unreadable_cells(f: Forms) -> None:
    """A used column's cell that holds a formula without a saved value or an error value is not
    an empty answer: the row is rejected so the value can be typed or recalculated."""
    used = set(f.mapping.values())
    rows = f.table.rows
    pos = pd.Series(np.arange(len(rows)), index=rows) if f.table.cell_problems else None
    for r, c, msg in f.table.cell_problems:
        header = f.table.names[c]
        if header not in used:
            continue
        mask = np.zeros(f.n, dtype=bool)
        mask[pos[r]] = True
        f.err.add("cell", mask, f"{header}: {msg}")
    if f.table.hidden_rows:
        mask = np.isin(rows, f.table.hidden_rows)
        f.err.add("hidden", mask, "row hidden in the sheet: hidden rows are not imported (unhide "
                  "the row if it is a form, or delete it); a row of this rejects file imports as is")


def form_ids(f: Forms) -> None:
    form_id = f.col("form_id")
    f.err.add("missing", form_id.eq(""), "form_id: missing (required)")
    f.out["form_id"] = form_id


_YEAR_MISSING = "year: missing (required)"


def _parse_year(s):
    if not s:
        return None, _YEAR_MISSING
    if re.fullmatch(r"\d{4}(\.0+)?", s):
        y = int(float(s))
        first = min(m.first_year for m in _schemes())
        last = _dt.date.today().year  # forms are collected in the survey year, never later
        try:
            scheme_for_year(y)
        except SchemeError:
            return None, f"year: no scheme covers {y} (expected {first} or later)"
        if y > last:
            return None, f"year: {y} is after this year (expected {first} to {last})"
        return y, None
    return None, f"year: '{s}' is not a year (expected four digits, e.g. 2024)"


def years(f: Forms) -> None:
    """The survey year: four digits, covered by a scheme, not after this year; whether its
    units have districts."""
    yrs, yerr = f.col("year").parse(_parse_year)
    f.err.add("missing", yerr.eq(_YEAR_MISSING), yerr)
    f.err.add("mismatch", yerr.test(lambda e: e is not None and e != _YEAR_MISSING), yerr)
    f.has_year = yerr.test(lambda e: e is None)
    f.out["year"] = f.year = yrs
    f.yr = np.array([0 if y is None else y for y in yrs.values], dtype=int)[yrs.codes]
    with_districts = yrs.test(lambda y: y is not None and calendar.has_districts(int(y)))
    f.post = f.has_year & ~with_districts
    f.pre = f.has_year & with_districts


def schemes(f: Forms) -> None:
    """The scheme: blank means the one in force for the year; a given one must be that one."""
    known = {m.id for m in _schemes()}
    expected = f.year.map(lambda y: None if y is None else scheme_for_year(int(y)).id)
    typed_in = f.col("scheme")
    given = typed_in.map(str.lower)
    blank = given.eq("")
    unknown = ~blank & ~given.test(lambda g: g in known)
    f.err.add("mismatch", unknown, lambda: per_combination(
        [typed_in, expected], lambda s, e: f"scheme: '{s}' is not a known scheme (expected {e})"))
    differs = per_combination([given, expected], lambda g, e: g != e).test(bool)
    mism = f.has_year & ~blank & ~unknown & differs
    f.err.add("mismatch", mism, lambda: per_combination(
        [given, f.year_s, expected], lambda g, y, e: f"scheme: '{g}' does not apply to {y} (expected {e})"))
    f.out["scheme"] = expected      # None where there is no valid year


def codes(f: Forms) -> None:
    """Province, district and commune codes: digits, left-padded to their width."""
    for c, width in schema.CODE_WIDTH.items():
        vals, cerr = f.col(c).parse(parsers.code_parser(c, width))
        f.err.add_parsed("code", cerr)
        f.out[c] = vals
    f.err.add("missing", f.out["province_code"].eq(""), "province_code: missing (required)")


def _service_tokens(m: Scheme) -> dict[str, str]:
    tokens = {}
    for s in m.services:
        for t in (s.id, s.label["vi"], s.label["en"]):
            tokens.setdefault(norm(t), s.id)
    return tokens


def services(f: Forms) -> None:
    """The service (an id or label of the scheme's services) and the agency level: blank is the
    service's level, or commune in a year without districts, where district is refused."""
    known = {m.id: m for m in _schemes()}
    tokens = {sid: _service_tokens(m) for sid, m in known.items()}
    svc_raw = f.col("service")
    f.err.add("missing", svc_raw.eq(""), "service: missing (required)")

    def parse_service(sid, v):
        """(service id, its usual level, message) of a service typed under scheme ``sid``."""
        if sid is None or v == "":
            return None, None, None
        k = norm(v)
        if k in tokens[sid]:
            s = tokens[sid][k]
            return s, {x.id: x.level for x in known[sid].services}.get(s), None
        ids = ", ".join(s.id for s in known[sid].services)
        return None, None, f"service: '{v}' is not a service of {sid} (expected one of {ids})"
    service, level_svc, serr = per_combination([f.out["scheme"], svc_raw], parse_service, width=3)
    f.err.add_parsed("service", serr)
    f.out["service"] = service

    def parse_level(v):
        if not v:
            return "", None
        k = norm(v)
        if k in parsers.LEVEL_TOKENS:
            return parsers.LEVEL_TOKENS[k], None
        return None, f"agency_level: '{v}' is not an agency level (expected district or commune)"
    lvl, lerr = f.col("agency_level").parse(parse_level)
    f.err.add_parsed("value", lerr)
    f.level = per_combination([lvl, level_svc, Cells.flags(f.post)],
                              lambda given, usual, post: ("commune" if post else usual) if given == "" else given)
    abolished = calendar.districts_abolished()
    f.err.add("mismatch", f.post & lvl.eq("district"), lambda: f.year_s.map(
        lambda y: f"agency_level: 'district' is not possible in {y} (no districts from {abolished}; "
                  "expected commune)"))
    f.out["agency_level"] = f.level


def _units(vintage: str) -> pd.DataFrame:
    from geo.registry import units
    return units(vintage)


_REGISTRY_CACHE: dict[int, dict] = {}


def _registry(vintage: str) -> dict:
    df = _units(vintage)
    key = id(df)
    if key not in _REGISTRY_CACHE:
        by = {lvl: df[df["level"] == lvl] for lvl in ("province", "district", "commune")}
        _REGISTRY_CACHE.clear()
        district_province = _lookup(by["district"], "province_code")
        _REGISTRY_CACHE[key] = {
            "provinces": set(by["province"]["code"]),
            # the districts whose province is known (a district without one is not "in force")
            "district_province": {d: p for d, p in district_province.items() if not pd.isna(p)},
            "commune_district": _lookup(by["commune"], "district_code"),
            "commune_province": _lookup(by["commune"], "province_code"),
        }
    return _REGISTRY_CACHE[key]


def _lookup(units: pd.DataFrame, column: str) -> dict:
    """Each unit's code -> its ``column`` as pandas types it (NaN for a missing text among
    texts); by the column's ``tolist``: ``to_dict`` steps through Arrow's text one value at a
    time (0.1 s for the 10k communes)."""
    return dict(zip(units["code"].tolist(), pd.Series(units[column].to_numpy()).tolist()))


def places(f: Forms) -> None:
    """Codes in force in the year's vintage, each inside its district and province; a district
    where the year has districts, none where it has not; a commune for a commune-level agency,
    none for a district-level one."""
    abolished = calendar.districts_abolished()
    with_districts = (f"surveys up to {abolished - 1}" if abolished
                      else "surveys on units with districts")
    registries, in_year = {}, {}

    def year_units(year):
        """The year's registry, whether its vintage has districts and whether the year has."""
        if year not in in_year:
            v = calendar.vintage_for_year(int(year))
            if v not in registries:
                registries[v] = _registry(v)
            in_year[year] = (registries[v], calendar.vintage(v).has_districts,
                             calendar.has_districts(int(year)))
        return in_year[year]

    def check_place(year, prov, dist, comm):
        """The messages of one combination of year and codes, in the order of
        :data:`PLACE_CHECKS`."""
        out = [None] * len(PLACE_CHECKS)
        has_d, has_c = _given(dist), _given(comm)
        if year is not None:
            reg, vintage_districts, year_districts = year_units(year)
            p_ok = prov in reg["provinces"]
            if _given(prov) and not p_ok:
                out[0] = f"province_code: '{prov}' is not a province code in force in {year}"
            d_ok = False
            if vintage_districts:
                dprov = reg["district_province"].get(dist) if dist is not None else None
                known_d = dprov is not None
                if year_districts and not has_d and dist is not None:
                    out[1] = f"district_code: missing (required for {with_districts})"
                if has_d and not known_d:
                    out[2] = f"district_code: '{dist}' is not a district code in force in {year}"
                if has_d and known_d and p_ok and dprov != prov:
                    out[3] = (f"district_code: '{dist}' is not in province '{prov}' (it belongs to "
                              f"province '{dprov}')")
                d_ok = has_d and known_d and dprov == prov
            if has_c:
                if comm not in reg["commune_province"]:
                    out[4] = f"commune_code: '{comm}' is not a commune code in force in {year}"
                else:
                    cdist = reg["commune_district"].get(comm)
                    cprov = reg["commune_province"].get(comm)
                    if d_ok and cdist != dist:
                        out[5] = (f"commune_code: '{comm}' is not in district '{dist}' (it belongs "
                                  f"to district '{cdist}')")
                    if not d_ok and p_ok and cprov != prov:
                        out[6] = (f"commune_code: '{comm}' is not in province '{prov}' (it belongs "
                                  f"to province '{cprov}')")
            if not year_districts and has_d:
                out[7] = f"district_code: must be empty in {year} (districts were abolished from {abolished})"
        return out

    commune = f.out["commune_code"]
    found = per_combination([f.year, f.out["province_code"], f.out["district_code"], commune],
                            check_place, width=len(PLACE_CHECKS))
    for kind, msgs in zip(PLACE_CHECKS, found):
        if any(m is not None for m in msgs.values):     # most checks fail for no combination
            f.err.add_parsed(kind, msgs)
    # the agency's level against the commune, after the codes' messages: one message each, found
    # from the two columns' rows (with the level in the combinations above there were 3 times
    # as many to check: 32k instead of 11k on 1M forms)
    f.err.add("missing", f.level.eq("commune") & commune.eq(""),
              "commune_code: missing (required when the agency is at commune level)")
    f.err.add("mismatch", f.level.eq("district") & commune.test(_given),
              "commune_code: must be empty when the agency is at district level (the form counts "
              "toward the district)")


#: The kinds of the checks of a year and its codes, in the order their messages are given.
PLACE_CHECKS = ("code", "missing", "code", "place", "code", "place", "place", "mismatch")


def profile(f: Forms) -> None:
    """Profile answers: an option's id, numeric code or label -> its id."""
    prof = _schemes()[0].profile
    for dim in PROFILE_DIMENSIONS:
        if dim not in f.mapping or dim not in prof:
            f.out[dim] = Cells.full(f.n, None)
            continue
        tokens, shown = {}, []
        for o in prof[dim]["options"]:
            for t in (o["id"], str(o.get("code", "")), o["label"]["vi"], o["label"]["en"]):
                if t:
                    tokens.setdefault(norm(t), o["id"])
            shown.append(f"{o['id']} / {o.get('code')} / {o['label']['vi']}")
        vals, perr = f.col(dim).parse(parsers.option_parser(dim, tokens, "; ".join(shown)))
        f.err.add_parsed("value", perr)
        f.out[dim] = vals


def weights(f: Forms) -> None:
    """Blank is 1; otherwise a plausible number, not far from the file's median weight."""
    w_text = f.col("weight")
    w, werr = w_text.parse(parsers.parse_weight)
    f.err.add_parsed("value", werr)
    w = np.array([np.nan if v is None else v for v in w.values], dtype=float)[w.codes]
    far, far_msg = parsers.weight_outliers(w_text, w)
    if far is not None:
        f.err.add("value", far, far_msg)
    f.out["weight"] = w


def collection_dates(f: Forms) -> None:
    """A date (several spellings, stored as yyyy-mm-dd) within the survey year or its late
    returns (:data:`LATE_RETURNS_UNTIL` of the next year), and not after today."""
    d, derr = f.col("collected_on").parse(parsers.parse_date)
    f.err.add_parsed("value", derr)
    f.out["collected_on"] = d
    mo, day = LATE_RETURNS_UNTIL
    today = _dt.date.today().isoformat()

    def outside(date, year):
        if date is None or year is None:
            return None
        first, until = f"{year}-01-01", min(f"{year + 1}-{mo:02d}-{day:02d}", today)
        if first <= date <= until:
            return None
        return (f"collected_on: {date} is outside the survey year {year} (expected a date from "
                f"{first} to {until})")
    f.err.add_parsed("value", per_combination([d, f.year], outside))


def channels(f: Forms) -> None:
    f.out["channel"] = f.col("channel")


def _answer_sources(m: Scheme, year: int, mapping: dict[str, str]) -> dict:
    """target column -> (canonical column found in the file, parser) for scheme ``m`` in ``year``."""
    src = {}
    for item in m.item_ids(year):
        if item in mapping:
            src[item] = (item, parsers.scale_parser(item, m.valid_answers))
    ids = {o.id for o in m.expectation_options}
    for k, o in enumerate(m.expectation_options, start=1):
        target = f"expect_{o.id}"
        found = target if target in mapping else (
            f"expect_{k}" if f"expect_{k}" in mapping and str(k) not in ids else None)
        if found is None:
            continue
        if m.expectation_kind == "multi_select":
            src[target] = (found, parsers.tick_parser(target))
        else:
            valid = tuple(sorted(int(v) for v in m.expectation_scale)) or (1, 2, 3)
            labels = {norm(lab["vi"]): int(v) for v, lab in m.expectation_scale.items()}
            hint = " (" + ", ".join(f"{v} {lab['vi']}" for v, lab in sorted(m.expectation_scale.items())) + ")"
            src[target] = (found, parsers.scale_parser(target, valid, labels, hint))
    for p in m.perceptions:
        if p.column in mapping:
            tokens = {}
            for o in p.options:
                for t in (str(o.code), o.id, o.label["vi"], o.label["en"]):
                    tokens.setdefault(norm(t), o.code)
            shown = ", ".join(f"{o.code} ({o.label['vi']})" for o in p.options)
            src[p.column] = (p.column, parsers.option_parser(p.column, tokens, shown,
                                                             no_answer=NO_ANSWER))
    return src


def answers(f: Forms) -> None:
    """Items, expectations and perceptions asked in the row's year under its scheme; a column
    not asked that year is ignored, with a note of how many values were."""
    known = {m.id: m for m in _schemes()}
    answer_cols = set(_all_columns()) - set(schema.BASE_COLUMNS)
    groups = per_combination([f.out["scheme"], f.year], lambda s, y: (s, y) if y is not None else None)
    ignored = Counter()
    for k, key in enumerate(groups.values):       # in the order they first appear
        if key is None:
            continue
        sid, y = key
        m = known[sid]
        rows = groups.codes == k
        every = len(groups.values) == 1        # one scheme and year: all rows, no mask to apply
        sources = _answer_sources(m, int(y), f.mapping)
        for target, (src, parser) in sources.items():
            raw = f.raw(src)
            vals, aerr = raw.parse(parser)
            _answer_into(f.out, target, f.n, None if every else rows, vals)
            wrong = aerr.test(lambda e: e is not None)
            f.err.add("scale", wrong if every else rows & wrong, aerr)
        taken = {src for src, _ in sources.values()}
        for c in f.mapping:
            if c in answer_cols and c not in taken:
                k = int((f.raw(c).nonblank() & rows).sum())
                if k:
                    ignored[(f.mapping[c], sid, int(y))] += k
    for (h, sid, y), k in sorted(ignored.items()):
        f.notes.append(f"{f.name}: column '{h}' is not asked in {y} under {sid}: {_num(k)} values ignored")


@dataclass(frozen=True)
class Answers:
    """One answer column of every row, as each row's code into the answers of its distinct
    texts: unpacks as (the answers as small integers, where there is none), one per row, the
    pair the responses stage types as nullable integers; :meth:`take` reorders the codes only."""
    codes: np.ndarray
    number: np.ndarray          # int8 per distinct text (0 where there is no answer)
    absent: np.ndarray          # bool per distinct text

    def __iter__(self):
        codes = self.codes.astype(np.intp)
        return iter((self.number[codes], self.absent[codes]))

    def take(self, where) -> Answers:
        return Answers(self.codes[where], self.number, self.absent)


def _answer_into(out: dict, target: str, n: int, rows: np.ndarray | None, vals: Cells) -> None:
    """Write the answers ``vals`` of ``rows`` (None: every row) into ``out[target]``: the
    answers as small integers and where there is none (a null in the responses)."""
    absent = np.array([v is None for v in vals.values], dtype=bool)
    number = np.array([v if v is not None else 0 for v in vals.values], dtype=np.int8)
    if rows is None and target not in out:
        out[target] = Answers(vals.codes, number, absent)
        return
    if target not in out:
        out[target] = (np.zeros(n, dtype=np.int8), np.ones(n, dtype=bool))
    elif isinstance(out[target], Answers):
        out[target] = tuple(out[target])
    data, missing = out[target]
    codes = vals.codes.astype(np.intp)
    data[rows] = number[codes[rows]]
    missing[rows] = absent[codes[rows]]


#: The rules in the order they run (later rules read what earlier ones decided).
RULES = (unreadable_cells, form_ids, years, schemes, codes, services, places, profile, weights,
         collection_dates, channels, answers)


def check(f: Forms) -> Forms:
    for rule in RULES:
        rule(f)
    return f
