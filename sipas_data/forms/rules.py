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
from .errors import RowErrors
from .headers import _all_columns, _schemes, norm
from .parsers import NO_ANSWER, apply
from .read import Table

#: A form is collected in its survey year; late returns may come in until this day of the next
#: year. A date outside (0001-01-01, 2099-12-31) is a typing mistake, not a form of that year.
LATE_RETURNS_UNTIL = (6, 30)


def _num(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def _s(values) -> np.ndarray:
    return np.asarray(values, dtype=object).astype(str)


@dataclass
class Forms:
    """One file's rows on their way through the rules."""
    table: Table
    mapping: dict[str, str]                     # canonical column -> header in table.body
    err: RowErrors
    out: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # decided by the year rule, read by the later ones
    years: np.ndarray | None = None             # int or None per row
    yr: np.ndarray | None = None                # int, 0 where there is no valid year
    has_year: np.ndarray | None = None
    year_s: np.ndarray | None = None            # the year as text, for messages
    post: np.ndarray | None = None              # a valid year whose units have no districts
    pre: np.ndarray | None = None               # a valid year with districts
    level: np.ndarray | None = None             # agency level, decided by the service rule
    _stripped: dict[str, pd.Series] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def n(self) -> int:
        return len(self.table.body)

    def col(self, c: str) -> pd.Series:
        """A canonical column's text, stripped (empty when the file does not have it)."""
        if c not in self._stripped:
            if c in self.mapping:
                self._stripped[c] = stripped(self.table.body[self.mapping[c]])
            else:
                self._stripped[c] = pd.Series("", index=self.table.body.index, dtype=object)
        return self._stripped[c]


def stripped(values: pd.Series) -> pd.Series:
    """``values.str.strip()``, stripping each distinct text once (object dtype)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    clean = np.array([str(u).strip() for u in uniques], dtype=object)
    return pd.Series(clean[codes], index=values.index, dtype=object)


def unreadable_cells(f: Forms) -> None:
    """A used column's cell that holds a formula without a saved value or an error value is not
    an empty answer: the row is rejected so the value can be typed or recalculated."""
    used = {f.mapping[c] for c in f.mapping}
    rows = f.table.body.index
    pos = pd.Series(np.arange(len(rows)), index=rows)
    for r, c, msg in f.table.cell_problems:
        header = f.table.body.columns[c]
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
    form_id = f.col("form_id").to_numpy(dtype=object)
    f.err.add("missing", form_id == "", "form_id: missing (required)")
    f.out["form_id"] = form_id


def _parse_year(s):
    if not s:
        return None, "year: missing (required)"
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
    yrs, yerr = apply(f.col("year"), _parse_year)
    f.err.add("missing", yerr == "year: missing (required)", yerr)
    f.err.add("mismatch", pd.notna(yerr) & (yerr != "year: missing (required)"), yerr)
    f.has_year = pd.isna(yerr)
    f.out["year"] = f.years = yrs
    f.year_s = _s(yrs)
    f.yr = np.array([y if y is not None else 0 for y in yrs], dtype=int)
    with_districts = np.isin(f.yr, [y for y in pd.unique(f.yr) if calendar.has_districts(int(y))])
    f.post = f.has_year & ~with_districts
    f.pre = f.has_year & with_districts


def _expected_schemes(years: np.ndarray) -> np.ndarray:
    out = np.full(len(years), None, dtype=object)
    ys = pd.Series(years)
    for y in ys.dropna().unique():
        out[(ys == y).to_numpy()] = scheme_for_year(int(y)).id
    return out


def schemes(f: Forms) -> None:
    """The scheme: blank means the one in force for the year; a given one must be that one."""
    known = {m.id for m in _schemes()}
    expected = _expected_schemes(f.years)
    given = f.col("scheme").str.lower().to_numpy(dtype=object)
    blank = given == ""
    unknown = ~blank & ~np.isin(given, list(known))
    f.err.add("mismatch", unknown,
              lambda: "scheme: '" + _s(f.col("scheme")) + "' is not a known scheme (expected "
              + _s(expected) + ")")
    mism = f.has_year & ~blank & ~unknown & (given != expected)
    f.err.add("mismatch", mism, lambda: "scheme: '" + _s(given) + "' does not apply to " + f.year_s
              + " (expected " + _s(expected) + ")")
    f.out["scheme"] = np.where(f.has_year, expected, None)


def codes(f: Forms) -> None:
    """Province, district and commune codes: digits, left-padded to their width."""
    for c, width in schema.CODE_WIDTH.items():
        vals, cerr = apply(f.col(c), parsers.code_parser(c, width))
        f.err.add_parsed("code", cerr)
        f.out[c] = vals
    f.err.add("missing", f.out["province_code"] == "", "province_code: missing (required)")


def _spread(rows: np.ndarray, values) -> np.ndarray:
    """Values computed for the ``rows`` subset, placed back into a full-length array."""
    values = np.asarray(values)
    if values.dtype == bool:
        full = np.zeros(len(rows), dtype=bool)
    else:
        full = np.full(len(rows), None, dtype=object)
    full[rows] = values
    return full


def services(f: Forms) -> None:
    """The service (an id or label of the scheme's services) and the agency level: blank is the
    service's level, or commune in a year without districts, where district is refused."""
    n = f.n
    known = {m.id: m for m in _schemes()}
    service = np.full(n, None, dtype=object)
    level_svc = np.full(n, None, dtype=object)
    svc_raw = f.col("service")
    f.err.add("missing", svc_raw.to_numpy() == "", "service: missing (required)")
    for sid in pd.unique(f.out["scheme"][f.has_year]):
        m = known[sid]
        rows = (f.out["scheme"] == sid) & f.has_year & (svc_raw.to_numpy() != "")
        if not rows.any():
            continue
        tokens = {}
        for s in m.services:
            for t in (s.id, s.label["vi"], s.label["en"]):
                tokens.setdefault(norm(t), s.id)
        ids = ", ".join(s.id for s in m.services)

        def parse_service(v, tokens=tokens, sid=sid, ids=ids):
            k = norm(v)
            if k in tokens:
                return tokens[k], None
            return None, f"service: '{v}' is not a service of {sid} (expected one of {ids})"
        vals, serr = apply(svc_raw[rows], parse_service)
        service[rows] = vals
        f.err.add("service", _spread(rows, pd.notna(serr)), _spread(rows, serr))
        lv = {s.id: s.level for s in m.services}
        level_svc[rows] = [lv.get(v) for v in vals]
    f.out["service"] = service

    def parse_level(v):
        if not v:
            return "", None
        k = norm(v)
        if k in parsers.LEVEL_TOKENS:
            return parsers.LEVEL_TOKENS[k], None
        return None, f"agency_level: '{v}' is not an agency level (expected district or commune)"
    lvl, lerr = apply(f.col("agency_level"), parse_level)
    f.err.add_parsed("value", lerr)
    inferred = np.where(f.post, "commune", level_svc)
    f.level = np.where(lvl == "", inferred, lvl)
    abolished = calendar.districts_abolished()
    f.err.add("mismatch", f.post & (lvl == "district"),
              lambda: "agency_level: 'district' is not possible in " + f.year_s
              + f" (no districts from {abolished}; expected commune)")
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
        _REGISTRY_CACHE[key] = {
            "provinces": set(by["province"]["code"]),
            "district_province": pd.Series(by["district"]["province_code"].to_numpy(),
                                           index=by["district"]["code"].to_numpy()).to_dict(),
            "commune_district": pd.Series(by["commune"]["district_code"].to_numpy(),
                                          index=by["commune"]["code"].to_numpy()).to_dict(),
            "commune_province": pd.Series(by["commune"]["province_code"].to_numpy(),
                                          index=by["commune"]["code"].to_numpy()).to_dict(),
        }
    return _REGISTRY_CACHE[key]


def places(f: Forms) -> None:
    """Codes in force in the year's vintage, each inside its district and province; a district
    where the year has districts, none where it has not; a commune for a commune-level agency,
    none for a district-level one."""
    n, err, year_s = f.n, f.err, f.year_s
    prov, dist, comm = f.out["province_code"], f.out["district_code"], f.out["commune_code"]
    abolished = calendar.districts_abolished()
    with_districts = (f"surveys up to {abolished - 1}" if abolished
                      else "surveys on units with districts")
    vint = np.full(n, None, dtype=object)
    for y in pd.unique(f.yr[f.has_year]):
        vint[f.has_year & (f.yr == y)] = calendar.vintage_for_year(int(y))
    for v in pd.unique(vint[f.has_year]):
        reg = _registry(v)
        rows = vint == v
        p_ok = np.isin(prov, list(reg["provinces"]))
        bad_p = rows & (prov != "") & pd.notna(prov) & ~p_ok
        err.add("code", bad_p, lambda: "province_code: '" + _s(prov) + "' is not a province code in force in " + year_s)
        dprov = pd.Series(dist).map(reg["district_province"]).to_numpy(dtype=object)
        has_d = (dist != "") & pd.notna(dist)
        if calendar.vintage(v).has_districts:
            need_d = rows & f.pre & ~has_d & pd.notna(dist)
            err.add("missing", need_d, f"district_code: missing (required for {with_districts})")
            bad_d = rows & has_d & pd.isna(dprov)
            err.add("code", bad_d,
                    lambda: "district_code: '" + _s(dist) + "' is not a district code in force in " + year_s)
            out_d = rows & has_d & pd.notna(dprov) & p_ok & (dprov != prov)
            err.add("place", out_d, lambda: "district_code: '" + _s(dist) + "' is not in province '" + _s(prov)
                    + "' (it belongs to province '" + _s(dprov) + "')")
            d_ok = rows & has_d & pd.notna(dprov) & (dprov == prov)
        else:
            d_ok = np.zeros(n, dtype=bool)
        has_c = (comm != "") & pd.notna(comm)
        cdist = pd.Series(comm).map(reg["commune_district"]).to_numpy(dtype=object)
        cprov = pd.Series(comm).map(reg["commune_province"]).to_numpy(dtype=object)
        known_c = pd.Series(comm).isin(reg["commune_province"].keys()).to_numpy()
        bad_c = rows & has_c & ~known_c
        err.add("code", bad_c, lambda: "commune_code: '" + _s(comm) + "' is not a commune code in force in " + year_s)
        out_cd = rows & has_c & known_c & d_ok & (cdist != dist)
        err.add("place", out_cd, lambda: "commune_code: '" + _s(comm) + "' is not in district '" + _s(dist)
                + "' (it belongs to district '" + _s(cdist) + "')")
        out_cp = rows & has_c & known_c & ~d_ok & p_ok & (cprov != prov)
        err.add("place", out_cp, lambda: "commune_code: '" + _s(comm) + "' is not in province '" + _s(prov)
                + "' (it belongs to province '" + _s(cprov) + "')")
    err.add("mismatch", f.post & (dist != "") & pd.notna(dist),
            lambda: "district_code: must be empty in " + year_s + f" (districts were abolished from {abolished})")
    err.add("missing", (f.level == "commune") & (comm == ""),
            "commune_code: missing (required when the agency is at commune level)")
    err.add("mismatch", (f.level == "district") & (comm != "") & pd.notna(comm),
            "commune_code: must be empty when the agency is at district level (the form counts "
            "toward the district)")


def profile(f: Forms) -> None:
    """Profile answers: an option's id, numeric code or label -> its id."""
    prof = _schemes()[0].profile
    for dim in PROFILE_DIMENSIONS:
        if dim not in f.mapping or dim not in prof:
            f.out[dim] = np.full(f.n, None, dtype=object)
            continue
        tokens, shown = {}, []
        for o in prof[dim]["options"]:
            for t in (o["id"], str(o.get("code", "")), o["label"]["vi"], o["label"]["en"]):
                if t:
                    tokens.setdefault(norm(t), o["id"])
            shown.append(f"{o['id']} / {o.get('code')} / {o['label']['vi']}")
        vals, perr = apply(f.col(dim), parsers.option_parser(dim, tokens, "; ".join(shown)))
        f.err.add_parsed("value", perr)
        f.out[dim] = vals


def weights(f: Forms) -> None:
    """Blank is 1; otherwise a plausible number, not far from the file's median weight."""
    w_text = f.col("weight")
    w, werr = apply(w_text, parsers.parse_weight)
    f.err.add_parsed("value", werr)
    far, far_msg = parsers.weight_outliers(w_text.to_numpy(dtype=object), np.asarray(w, dtype=float))
    if far is not None:
        f.err.add("value", far, far_msg)
    f.out["weight"] = w


def collection_dates(f: Forms) -> None:
    """A date (several spellings, stored as yyyy-mm-dd) within the survey year or its late
    returns (:data:`LATE_RETURNS_UNTIL` of the next year), and not after today."""
    d, derr = apply(f.col("collected_on"), parsers.parse_date)
    f.err.add_parsed("value", derr)
    f.out["collected_on"] = d
    given = pd.notna(d) & f.has_year
    if not given.any():
        return
    mo, day = LATE_RETURNS_UNTIL
    iso = np.where(given, d, "").astype(str)
    first = np.char.add(f.yr.astype(str), "-01-01")
    until = np.char.add((f.yr + 1).astype(str), f"-{mo:02d}-{day:02d}")
    today = _dt.date.today().isoformat()
    until = np.where(until > today, today, until)
    outside = given & ((iso < first) | (iso > until))
    f.err.add("value", outside, lambda: "collected_on: " + _s(d) + " is outside the survey year "
              + f.year_s + " (expected a date from " + first.astype(object) + " to "
              + until.astype(object) + ")")


def channels(f: Forms) -> None:
    f.out["channel"] = f.col("channel").to_numpy(dtype=object)


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
    answer_cols = [c for c in _all_columns() if c not in schema.BASE_COLUMNS]
    for c in answer_cols:
        f.out[c] = np.full(f.n, np.nan)
    raw = f.table.body
    groups = pd.DataFrame({"s": f.out["scheme"], "y": f.yr})[f.has_year].drop_duplicates()
    ignored = Counter()
    for sid, y in groups.itertuples(index=False):
        m = known[sid]
        rows = f.has_year & (f.out["scheme"] == sid) & (f.yr == y)
        sources = _answer_sources(m, int(y), f.mapping)
        for target, (src, parser) in sources.items():
            vals, aerr = apply(raw.loc[rows, f.mapping[src]], parser, numeric=True)
            f.out[target][rows] = vals
            f.err.add("scale", _spread(rows, pd.notna(aerr)), _spread(rows, aerr))
        taken = {src for src, _ in sources.values()}
        for c in f.mapping:
            if c in answer_cols and c not in taken:
                k = int((raw.loc[rows, f.mapping[c]].str.strip() != "").sum())
                if k:
                    ignored[(f.mapping[c], sid, int(y))] += k
    for (h, sid, y), k in sorted(ignored.items()):
        f.notes.append(f"{f.name}: column '{h}' is not asked in {y} under {sid}: {_num(k)} values ignored")


#: The rules in the order they run (later rules read what earlier ones decided).
RULES = (unreadable_cells, form_ids, years, schemes, codes, services, places, profile, weights,
         collection_dates, channels, answers)


def check(f: Forms) -> Forms:
    for rule in RULES:
        rule(f)
    return f
