"""Registry of Vietnam's administrative units for the two SIPAS vintages.

Built from the ``vietnamadminunits`` package (its SQLite ``dataset.db`` and
``converter_2025.json``), never from hand-typed tables.

Vintages
--------
* ``"2019"``: the units in force until 30 June 2025 (63 provinces, 696
  districts, 10,035 communes in the package's list of 2025-03-01).
* ``"2025"``: the units from 1 July 2025 (34 provinces, 3,321 communes, no
  district level).

Areas
-----
``area_km2`` comes from the package: 2025 communes carry ``wardAreaKm2``; a 2025
province's area is the sum of its communes' areas, NaN if any of them lacks
one (the package has none for two communes of Quảng Trị and 0.0, read as
unknown, for one commune each of Lạng Sơn and Đồng Tháp). The package has no areas for pre-reform
units, so ``area_km2`` is NaN for every ``"2019"`` unit (it is not invented
from bounding boxes).

Centroids
---------
``lat``/``lon`` are the package's points. Five pre-reform island districts
(Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, Lý Sơn, Côn Đảo) have no communes in the
package; they are districts with no children.

Every frame returned here is cached and shared: callers must not mutate it
(take ``.copy()`` first).
"""

from __future__ import annotations

import bisect
import json
import re
import sqlite3
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from sipas_data import calendar

__all__ = [
    "VINTAGES",
    "LEVELS",
    "vintage_for_year",
    "levels_for_year",
    "units",
    "unit",
    "children",
    "crosswalk",
    "search",
    "normalise_name",
    "label",
]

VINTAGES = calendar.vintage_ids()
LEVELS = ("province", "district", "commune")

UNIT_COLUMNS = [
    "code", "level", "type", "name", "short_name", "search_key", "parent_code",
    "province_code", "district_code", "lat", "lon", "area_km2",
]

# Type words, longest first so that "Thành phố" wins over nothing shorter.
TYPE_WORDS = ("Thành phố", "Thị trấn", "Thị xã", "Đặc khu", "Phường", "Huyện", "Quận", "Tỉnh", "Xã")


# ---------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------

def normalise_name(text: str) -> str:
    """Unaccented, lower-case key of a Vietnamese name.

    NFD-decompose, drop combining marks, map đ/Đ to d, lower-case and collapse
    runs of whitespace. Punctuation is kept. ``"Thành phố  Hồng Ngự"`` ->
    ``"thanh pho hong ngu"``. ``None`` gives ``""``.
    """
    if text is None:
        return ""
    text = unicodedata.normalize("NFD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFC", text).lower()
    return " ".join(text.split())


_PUNCT = re.compile(r"[^0-9a-z ]+")


def _tokens_key(text: str) -> str:
    """Search form: normalise_name, then punctuation -> spaces, collapsed."""
    return " ".join(_PUNCT.sub(" ", normalise_name(text)).split())


def _compact(text: str) -> str:
    """Keys as the package writes them: unaccented, no spaces or punctuation."""
    return _tokens_key(text).replace(" ", "")


# ---------------------------------------------------------------------------
# Years
# ---------------------------------------------------------------------------

def vintage_for_year(year: int) -> str:
    """The vintage in force for a survey year (the calendar's: "2019" up to 2024, "2025" from 2025)."""
    return calendar.vintage_for_year(year)


def levels_for_year(year: int) -> tuple[str, ...]:
    """Administrative levels that exist in a survey year (no districts from 2025)."""
    return calendar.levels_for_year(year)


def _check_vintage(vintage: str) -> str:
    v = str(vintage)
    if v not in VINTAGES:
        raise ValueError(f"unknown vintage {vintage!r}; expected one of {VINTAGES}")
    return v


# ---------------------------------------------------------------------------
# Package access
# ---------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _package_dir() -> Path:
    """The installed vietnamadminunits folder, found without importing it
    (its import loads parsers and takes most of a second)."""
    import importlib.util

    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.origin:
        raise ImportError("geo needs the vietnamadminunits package (pip install vietnamadminunits)")
    return Path(spec.origin).resolve().parent


def _query(sql: str) -> pd.DataFrame:
    path = _package_dir() / "data" / "dataset.db"
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        # Plain Python objects: the registries are built row by row, and iterating over
        # Arrow-backed string columns costs several times as much.
        return pd.DataFrame(cur.fetchall(), columns=cols, dtype=object)
    finally:
        con.close()


def _split_type(name: str) -> tuple[str, str, str]:
    """("Thành phố", "Hồng Ngự", "Thành phố Hồng Ngự") from "Thành Phố Hồng Ngự".

    The package capitalises a few type words ("Thành Phố Bắc Kạn", "Thị Trấn
    Óc Eo"); the type word is put back in the official list's spelling, in the
    name too.
    """
    low = name.lower()
    for t in TYPE_WORDS:
        if low.startswith(t.lower() + " "):
            short = name[len(t) + 1:].strip()
            return t, short, f"{t} {short}"
    return "", name, name


def _frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=UNIT_COLUMNS)
    for c in ("code", "level", "type", "name", "short_name", "search_key", "parent_code", "province_code"):
        df[c] = df[c].astype(object)
    df["district_code"] = df["district_code"].astype(object).where(df["district_code"].notna(), None)
    for c in ("lat", "lon", "area_km2"):
        df[c] = df[c].astype(float)
    df = df.sort_values("code", kind="stable").reset_index(drop=True)
    if df["code"].duplicated().any():  # pragma: no cover - package invariant
        raise RuntimeError("duplicate codes in the registry")
    return df


def _row(code, level, name, parent, province, district, lat, lon, area):
    typ, short, name = _split_type(" ".join(str(name).split()))
    return {
        "code": code, "level": level, "type": typ, "name": name, "short_name": short,
        "search_key": normalise_name(name), "parent_code": parent, "province_code": province,
        "district_code": district, "lat": lat, "lon": lon, "area_km2": area,
    }


@lru_cache(maxsize=1)
def _legacy_raw() -> pd.DataFrame:
    return _query(
        "SELECT province, district, ward, provinceCode, provinceLat, provinceLon, "
        "districtCode, districtLat, districtLon, wardCode, wardLat, wardLon, "
        "provinceKey, districtKey, wardKey FROM admin_units_legacy"
    )


@lru_cache(maxsize=1)
def _new_raw() -> pd.DataFrame:
    return _query(
        "SELECT province, ward, provinceCode, provinceLat, provinceLon, wardCode, "
        "wardLat, wardLon, wardAreaKm2, provinceKey, wardKey FROM admin_units"
    )


def _build_2019() -> pd.DataFrame:
    raw = _legacy_raw()
    rows = []
    nan = float("nan")
    for r in raw.drop_duplicates("provinceCode").itertuples(index=False):
        rows.append(_row(r.provinceCode, "province", r.province, "VN", r.provinceCode, None,
                         r.provinceLat, r.provinceLon, nan))
    for r in raw.drop_duplicates("districtCode").itertuples(index=False):
        rows.append(_row(r.districtCode, "district", r.district, r.provinceCode, r.provinceCode,
                         r.districtCode, r.districtLat, r.districtLon, nan))
    wards = raw[raw["wardCode"].notna()].drop_duplicates("wardCode")
    for r in wards.itertuples(index=False):
        rows.append(_row(r.wardCode, "commune", r.ward, r.districtCode, r.provinceCode,
                         r.districtCode, r.wardLat, r.wardLon, nan))
    return _frame(rows)


def _build_2025() -> pd.DataFrame:
    raw = _new_raw().copy()
    # The package gives 0.0 for two wards (Kỳ Lừa, Mỹ Phước Tây): unknown, not zero.
    raw["wardAreaKm2"] = pd.to_numeric(raw["wardAreaKm2"], errors="coerce").astype(float)
    raw.loc[~(raw["wardAreaKm2"] > 0), "wardAreaKm2"] = np.nan
    rows = []
    for code, g in raw.groupby("provinceCode", sort=True):
        r = g.iloc[0]
        area = float(g["wardAreaKm2"].sum()) if g["wardAreaKm2"].notna().all() else float("nan")
        rows.append(_row(code, "province", r["province"], "VN", code, None,
                         r["provinceLat"], r["provinceLon"], area))
    for r in raw.drop_duplicates("wardCode").itertuples(index=False):
        area = r.wardAreaKm2
        rows.append(_row(r.wardCode, "commune", r.ward, r.provinceCode, r.provinceCode, None,
                         r.wardLat, r.wardLon, area))
    return _frame(rows)


@lru_cache(maxsize=2)
def _units_cached(vintage: str) -> pd.DataFrame:
    return _build_2019() if vintage == "2019" else _build_2025()


def units(vintage: str) -> pd.DataFrame:
    """Every unit of a vintage, all levels, one row each, sorted by code.

    Columns: code, level, type, name, short_name, search_key, parent_code,
    province_code, district_code, lat, lon, area_km2 (see the module docstring
    for areas). The frame is cached and shared: do not mutate it.
    """
    return _units_cached(_check_vintage(vintage))


@lru_cache(maxsize=2)
def _index(vintage: str) -> dict[str, int]:
    return {c: i for i, c in enumerate(units(vintage)["code"])}


def unit(code: str, vintage: str) -> dict | None:
    """One unit as a dict (the columns of :func:`units`), or None if unknown."""
    i = _index(_check_vintage(vintage)).get(str(code))
    if i is None:
        return None
    return units(vintage).iloc[i].to_dict()


@lru_cache(maxsize=2)
def _children_groups(vintage: str) -> dict[str, np.ndarray]:
    df = units(vintage)
    return {k: np.asarray(v) for k, v in df.groupby("parent_code", sort=False).indices.items()}


def children(parent_code: str, vintage: str) -> pd.DataFrame:
    """Units whose parent_code equals ``parent_code`` ("VN" for provinces), sorted by code.

    Returns a new frame (a slice copy), empty when there are none.
    """
    vintage = _check_vintage(vintage)
    idx = _children_groups(vintage).get(str(parent_code))
    df = units(vintage)
    if idx is None:
        return df.iloc[0:0].copy()
    return df.iloc[np.sort(idx)].reset_index(drop=True)


def label(code: str, vintage: str) -> str | None:
    """Name with its parents: "Xã Tân Hội, Thành phố Hồng Ngự, Tỉnh Đồng Tháp"."""
    return _labels(_check_vintage(vintage)).get(str(code))


@lru_cache(maxsize=2)
def _labels(vintage: str) -> dict[str, str]:
    df = units(vintage)
    names = dict(zip(df["code"], df["name"]))
    parents = dict(zip(df["code"], df["parent_code"]))
    out = {}
    for code in df["code"]:
        parts = [names[code]]
        p = parents[code]
        while p in names:
            parts.append(names[p])
            p = parents[p]
        out[code] = ", ".join(parts)
    return out


# ---------------------------------------------------------------------------
# Crosswalk
# ---------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _crosswalk_cached() -> pd.DataFrame:
    # the package's converter, named by the calendar as the crosswalk out of the earliest vintage
    with open(_package_dir() / "data" / calendar.vintages()[0].crosswalk_to_next, encoding="utf-8") as f:
        conv = json.load(f)
    old_prov_to_new = {}
    for new_key, olds in conv["DICT_PROVINCE"].items():
        for o in olds:
            old_prov_to_new[o] = new_key
    not_divided = {}
    for new_prov, wards in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_ward, olds in wards.items():
            for o in olds:
                not_divided[o] = (new_prov, new_ward)
    divided = {}
    for new_prov, olds in conv["DICT_PROVINCE_WARD_DIVIDED"].items():
        for o, options in olds.items():
            default = next((w for w in options if w.get("isDefaultNewWard")), options[0])
            divided[o] = (new_prov, default["newWardKey"])

    new = _new_raw()
    # Some converter keys carry accents ("xãcẩmgiàng"); compare compact forms.
    new_ward_code = {(_compact(p), _compact(w)): c for p, w, c in
                     zip(new["provinceKey"], new["wardKey"], new["wardCode"])}
    new_ward_province = dict(zip(new["wardCode"], new["provinceCode"]))
    new_prov_code = {_compact(k): c for k, c in zip(new["provinceKey"], new["provinceCode"])}

    leg = _legacy_raw()
    leg = leg[leg["wardCode"].notna()].drop_duplicates("wardCode").sort_values("wardCode")
    rows = []
    for r in leg.itertuples(index=False):
        key = f"{r.provinceKey}_{r.districtKey}_{r.wardKey}"
        is_div = False
        hit = not_divided.get(key)
        if hit is None and key in divided:
            hit, is_div = divided[key], True
        new_code = new_prov = None
        if hit is not None:
            new_code = new_ward_code.get((_compact(hit[0]), _compact(hit[1])))
            new_prov = new_ward_province.get(new_code) if new_code else new_prov_code.get(_compact(hit[0]))
        if new_prov is None:
            pk = old_prov_to_new.get(r.provinceKey)
            new_prov = new_prov_code.get(_compact(pk)) if pk else None
        rows.append((r.wardCode, r.districtCode, r.provinceCode, new_code, new_prov, is_div))
    df = pd.DataFrame(rows, columns=["old_commune_code", "old_district_code", "old_province_code",
                                     "new_commune_code", "new_province_code", "divided"])
    df["divided"] = df["divided"].astype(bool)
    for c in df.columns[:-1]:
        df[c] = df[c].astype(object)
    return df


def crosswalk() -> pd.DataFrame:
    """Old-to-new commune crosswalk, one row per pre-reform commune.

    Columns: old_commune_code, old_district_code, old_province_code,
    new_commune_code, new_province_code, divided. Built from the package's
    ``converter_2025.json``. When an old commune was divided among several new
    ones (``divided`` True), ``new_commune_code`` is the one the package marks
    ``isDefaultNewWard`` (the package's own default for addresses without a
    street); the others are not listed. ``new_commune_code`` is None only if
    the package has no mapping for that commune. Cached: do not mutate.
    """
    return _crosswalk_cached()


@lru_cache(maxsize=1)
def split_communes() -> dict[str, list[str]]:
    """Old commune code -> every new commune the official converter splits it among (the
    default first). :func:`crosswalk` keeps only the default of a split commune (the restated
    series counts it there); a unit's lineage names all of them."""
    with open(_package_dir() / "data" / calendar.vintages()[0].crosswalk_to_next, encoding="utf-8") as f:
        conv = json.load(f)
    new = _new_raw()
    code_of = {(_compact(p), _compact(w)): c for p, w, c in zip(new["provinceKey"], new["wardKey"], new["wardCode"])}
    leg = _legacy_raw()
    leg = leg[leg["wardCode"].notna()].drop_duplicates("wardCode")
    old_code = {f"{p}_{d}_{w}": c for p, d, w, c in
                zip(leg["provinceKey"], leg["districtKey"], leg["wardKey"], leg["wardCode"])}
    out: dict[str, list[str]] = {}
    for new_prov, olds in conv["DICT_PROVINCE_WARD_DIVIDED"].items():
        for key, options in olds.items():
            code = old_code.get(key)
            if code is None:
                continue
            ordered = sorted(options, key=lambda o: not o.get("isDefaultNewWard"))
            codes = [code_of.get((_compact(new_prov), _compact(o["newWardKey"]))) for o in ordered]
            out[code] = list(dict.fromkeys(c for c in codes if c))
    return out


# ---------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------

# Query prefixes that name a unit type (search form, i.e. after _tokens_key).
_TYPE_ALIASES = {
    "thanh pho": "Thành phố", "tp": "Thành phố",
    "thi xa": "Thị xã", "tx": "Thị xã",
    "thi tran": "Thị trấn", "tt": "Thị trấn",
    "dac khu": "Đặc khu",
    "quan": "Quận", "q": "Quận",
    "huyen": "Huyện", "h": "Huyện",
    "phuong": "Phường", "p": "Phường",
    "xa": "Xã", "x": "Xã",
    "tinh": "Tỉnh",
}
_TYPE_ALIAS_ORDER = sorted(_TYPE_ALIASES, key=len, reverse=True)
_LEVEL_RANK = {"province": 0, "district": 1, "commune": 2}


class _SearchIndex:
    def __init__(self, vintage: str):
        df = units(vintage)
        self.codes = df["code"].to_numpy()
        self.levels = df["level"].to_numpy()
        self.names = df["name"].to_numpy()
        self.types = df["type"].to_numpy()
        self.level_rank = np.array([_LEVEL_RANK[x] for x in self.levels])
        self.short = [_tokens_key(s) for s in df["short_name"]]
        self.full = [_tokens_key(s) for s in df["name"]]
        labels = _labels(vintage)
        self.labels = np.array([labels[c] for c in self.codes], dtype=object)
        self.label_keys = [_tokens_key(x) for x in self.labels]
        self.exact_short: dict[str, list[int]] = {}
        self.exact_full: dict[str, list[int]] = {}
        for i, (s, f) in enumerate(zip(self.short, self.full)):
            self.exact_short.setdefault(s, []).append(i)
            self.exact_full.setdefault(f, []).append(i)
        # Concatenated keys for fast substring search; "\n" separates rows.
        self.blob_short, self.starts_short = self._blob(self.short)
        # Keys without spaces: "hongngu" finds Hồng Ngự, and typos are scored on them (rapidfuzz).
        self.compact_short = [k.replace(" ", "") for k in self.short]
        self.exact_compact: dict[str, list[int]] = {}
        for i, (s, f) in enumerate(zip(self.compact_short, self.full)):
            self.exact_compact.setdefault(s, []).append(i)
            if f.replace(" ", "") != s:
                self.exact_compact.setdefault(f.replace(" ", ""), []).append(i)

    def fuzzy_hits(self, q: str, cutoff: float) -> dict[int, float]:
        """row -> similarity (0-100) of the short name to q, both without spaces, at or above
        cutoff. Indel similarity: one wrong letter in an eight-letter name costs about twelve
        points, one missing or extra letter about six (a longer name forgives more)."""
        from rapidfuzz import fuzz, process
        key = q.replace(" ", "")
        if len(key) < 4:  # three letters are close to hundreds of names
            return {}
        hits = process.extract(key, self.compact_short, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None)
        return {i: float(score) for _, score, i in hits}

    @staticmethod
    def _blob(keys):
        starts, pos = [], 0
        for k in keys:
            starts.append(pos)
            pos += len(k) + 1
        return "\n".join(keys), starts

    def substring_hits(self, q: str) -> dict[int, int]:
        """row -> 2 if the short key starts with q, 1 if q starts a later word, 0 mid-word."""
        out: dict[int, int] = {}
        if not q:
            return out
        blob, starts = self.blob_short, self.starts_short
        pos = blob.find(q)
        while pos != -1:
            i = bisect.bisect_right(starts, pos) - 1
            off = pos - starts[i]
            kind = 2 if off == 0 else (1 if blob[pos - 1] == " " else 0)
            if out.get(i, -1) < kind:
                out[i] = kind
            pos = blob.find(q, pos + 1)
        return out


@lru_cache(maxsize=2)
def _search_index(vintage: str) -> _SearchIndex:
    return _SearchIndex(vintage)


def _split_query_type(q: str) -> tuple[str | None, str]:
    for alias in _TYPE_ALIAS_ORDER:
        if q.startswith(alias + " ") and len(q) > len(alias) + 1:
            return _TYPE_ALIASES[alias], q[len(alias) + 1:]
    return None, q


# the similarity a misspelt name needs to be suggested ("tram chym" ~ "tram chim": 87.5)
FUZZY_CUTOFF = 80.0


def search(query: str, vintage: str, limit: int = 10, levels: tuple[str, ...] | None = None,
           fuzzy: bool = False) -> pd.DataFrame:
    """Find units by name, accent- and case-insensitively.

    Scores: exact short name or exact full name 100, short name starts with
    the query 80, the query starts a later word of the short name 60, the
    query occurs inside a word 40. A type word
    or abbreviation at the start of the query ("TP", "TP.", "TX", "Q.", "H.",
    "P.", "X.", "TT", "Thành phố", "Huyện", ...) adds 10 to units of that type
    (the whole query is also tried as a plain name, so "Xuân ..." still works).
    Text after a comma narrows by parents: "Tân Hội, Hồng Ngự" adds 5 when the
    parents' names contain it and drops units whose parents do not. Ties are
    broken by level (province, district, commune), then code. Ambiguous names
    come back as several rows whose ``label`` names the parents. The name
    typed without its spaces ("hongngu") counts as exact.

    With ``fuzzy``, names within a few typing mistakes of the query
    ("tram chym", "hong nguu") follow the hits above as suggestions: column
    ``fuzzy`` True, score the similarity scaled under every other hit's
    (similarity / 100 * 35, plus the type and parent bonuses), the same type
    word and parent rules. A unit already found by name is not repeated.

    Returns columns code, level, name, label, score, fuzzy (best first).
    """
    vintage = _check_vintage(vintage)
    idx = _search_index(vintage)
    parts = [p for p in (_tokens_key(x) for x in str(query).split(",")) if p]
    cols = ["code", "level", "name", "label", "score", "fuzzy"]
    if not parts:
        return pd.DataFrame(columns=cols)
    q, context = parts[0], parts[1:]
    typ, rest = _split_query_type(q)

    scores: dict[int, float] = {}

    def add(rows, s):
        for i in rows:
            if scores.get(i, -1) < s:
                scores[i] = s

    cands = {q, rest} if typ else {q}
    for cand in cands:
        add(idx.exact_short.get(cand, ()), 100)
        add(idx.exact_full.get(cand, ()), 100)
        add(idx.exact_compact.get(cand.replace(" ", ""), ()), 100)
        for i, kind in idx.substring_hits(cand).items():
            add((i,), (40, 60, 80)[kind])
    scores = _narrow(idx, scores, typ, context, levels)
    near: dict[int, float] = {}
    if fuzzy and len(scores) < limit:
        for cand in cands:
            for i, sim in idx.fuzzy_hits(cand, FUZZY_CUTOFF).items():
                if i not in scores and near.get(i, -1) < sim * 0.35:
                    near[i] = sim * 0.35
        near = _narrow(idx, near, typ, context, levels)
    if not scores and not near:
        return pd.DataFrame(columns=cols)
    both = {**near, **scores}
    rows = np.fromiter(both.keys(), dtype=np.int64, count=len(both))
    sc = np.fromiter(both.values(), dtype=float, count=len(both))
    order = np.lexsort((rows, idx.level_rank[rows], -sc))[: max(int(limit), 0)]
    rows, sc = rows[order], sc[order]
    return pd.DataFrame({
        "code": idx.codes[rows],
        "level": idx.levels[rows],
        "name": idx.names[rows],
        "label": idx.labels[rows],
        "score": sc,
        "fuzzy": np.array([int(i) not in scores for i in rows], dtype=bool),
    })


def _narrow(idx: _SearchIndex, scores: dict[int, float], typ: str | None, context: list[str],
            levels: tuple[str, ...] | None) -> dict[int, float]:
    """The type word's bonus (+10), the parents after a comma (+5, others dropped), the levels."""
    if typ:
        scores = {i: s + (10 if idx.types[i] == typ else 0) for i, s in scores.items()}
    if context:
        kept = {}
        for i, s in scores.items():
            parents = idx.label_keys[i][len(idx.full[i]):]
            if all(c in parents for c in context):
                kept[i] = s + 5
        scores = kept
    if levels is not None:
        allowed = set(levels)
        scores = {i: s for i, s in scores.items() if idx.levels[i] in allowed}
    return scores
