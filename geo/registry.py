"""Registry of Vietnam's administrative units for each SIPAS vintage, and the crosswalks between them.

The vintages are the calendar's (``sipas_data/calendar.toml``), and each says where its units
come from: the ``vietnamadminunits`` package (its SQLite ``dataset.db`` and
``converter_2025.json``), or a data file of changes; never hand-typed tables in code.

Vintages
--------
* ``"2019"``: the units in force until 30 June 2025 (63 provinces, 696
  districts, 10,035 communes in the package's list of 2025-03-01), the package's
  table ``admin_units_legacy``.
* ``"2025"``: the units from 1 July 2025 (34 provinces, 3,321 communes, no
  district level), the package's table ``admin_units``.
* A later vintage is the vintage before it with a **changes file** (the calendar's ``changes``),
  UTF-8 CSV with the header ``change,code,level,name,parent_code,lat,lon,area_km2``, one row per
  unit that changed:

  - ``add``: a new unit; ``code``, ``level``, ``name`` and ``parent_code`` are required,
    ``lat``, ``lon``, ``area_km2`` may be empty (unknown). A code that the same file removes may
    be added again for another place (units are (vintage, code)).
  - ``update``: a unit that keeps its code; the columns given replace the old values, empty ones
    keep them (the level cannot change).
  - ``remove``: the unit is gone (only ``code`` is read); no unit may be left under it.

  ``parent_code`` is ``VN`` for a province, the district for a commune when the vintage has
  districts, else the province. ``type``, ``short_name``, ``search_key``, ``province_code`` and
  ``district_code`` follow from the name and the parents. Without districts, the area of a
  province that gained, lost or changed a commune is the sum of its communes' areas (NaN if one
  is unknown), unless the file updates the province's own area.

Crosswalks
----------
The calendar's ``crosswalk_to_next`` of a vintage carries its communes onto the next one. A
``.json`` name is the package's converter (``converter_2025.json``, from the package's data
folder: 2019 to 2025). A ``.csv`` is UTF-8 with the header ``old_code,new_code,default``: one row
per commune of the older vintage and each commune of the newer one it went into, whole or in
part; an old commune split among several marks with ``default = 1`` the one the restated series
counts it in. A commune not listed kept its code (it must still exist); every commune the changes
file removes must be listed. :func:`crosswalk` chains the steps (2019 -> 2025 -> 2026).

A data file named by the calendar is looked up beside the calendar file, then in ``geo/data/``.
Every file is checked when read, and a wrong one is refused with its file, line, column and what
was expected (:class:`RegistryDataError`).

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
    "split_communes",
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
# No type word and its space start another's, so a name starts with at most one: looked up by length.
_TYPE_OF_PREFIX = {t.lower() + " ": t for t in TYPE_WORDS}
_TYPE_PREFIX_LENGTHS = sorted({len(prefix) for prefix in _TYPE_OF_PREFIX}, reverse=True)


# ---------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------

class _UnaccentTable(dict):
    """``str.translate`` table, filled as characters are met: a combining mark is dropped, đ/Đ
    become d/D, any other character is kept."""

    def __missing__(self, codepoint: int) -> int | None:
        ch = chr(codepoint)
        value = None if unicodedata.combining(ch) else ord({"đ": "d", "Đ": "D"}.get(ch, ch))
        self[codepoint] = value
        return value


_UNACCENT = _UnaccentTable()


def normalise_name(text: str) -> str:
    """Unaccented, lower-case key of a Vietnamese name.

    NFD-decompose, drop combining marks, map đ/Đ to d, lower-case and collapse
    runs of whitespace. Punctuation is kept. ``"Thành phố  Hồng Ngự"`` ->
    ``"thanh pho hong ngu"``. ``None`` gives ``""``.
    """
    if text is None:
        return ""
    return _normalised(str(text))


# Building the registries normalises each name several times (its search key, the converter's
# keys, the search index): about 53,000 calls for 12,000 distinct names.
@lru_cache(maxsize=1 << 16)
def _normalised(text: str) -> str:
    text = unicodedata.normalize("NFD", text).translate(_UNACCENT)
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


_PUNCT = re.compile(r"[^0-9a-z ]+")


def _tokens_key(text: str) -> str:
    """Search form: normalise_name, then punctuation -> spaces, collapsed."""
    return " ".join(_PUNCT.sub(" ", normalise_name(text)).split())


@lru_cache(maxsize=1 << 16)  # the converter's keys repeat (a province's key on each of its communes)
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
    ids = calendar.vintage_ids()  # the calendar's, read now: a vintage added as data is known
    if v not in ids:
        raise ValueError(f"unknown vintage {vintage!r}; expected one of {ids}")
    return v


class RegistryDataError(ValueError):
    """A units or crosswalk data file named by the calendar is missing or wrong."""


# where a vintage's units come from, as a key for the caches: ("package", table), or
# ("changes", file, has_districts, the vintage before's key)
_Source = tuple


@lru_cache(maxsize=16)
def _source_in(calendar_file: str, vintage: str) -> _Source:
    v = calendar.vintage(vintage)
    if v.units is not None:
        kind, _, table = v.units.partition(":")
        if kind != "vietnamadminunits" or table not in _PACKAGE_TABLES:
            raise RegistryDataError(f"{Path(calendar_file).name}: vintage {v.id!r}: units = {v.units!r}; expected "
                                    f"one of {', '.join('vietnamadminunits:' + t for t in _PACKAGE_TABLES)}, "
                                    f"or a changes file")
        return ("package", table)
    before = calendar.vintage_before(v.id)
    return ("changes", str(_data_file(v.changes, f"vintage {v.id!r}: changes")), v.has_districts,
            _source_in(calendar_file, before))


_SOURCES: dict[tuple, _Source] = {}


def _source(vintage: str) -> _Source:
    # asked on every lookup: a dict hit, the calendar consulted once per calendar file and vintage
    key = (calendar.DATA_FILE, vintage)
    source = _SOURCES.get(key)
    if source is None:
        source = _SOURCES[key] = _source_in(str(calendar.DATA_FILE), _check_vintage(vintage))
    return source


# where the data files of the shipped calendar's vintages go (after the calendar file's own folder)
DATA_DIR = Path(__file__).with_name("data")


def _data_file(name: str, what: str) -> Path:
    """A file the calendar names: beside the calendar file, else in geo/data/ (``DATA_DIR``)."""
    for path in (calendar.data_path(name), DATA_DIR / name):
        if path.is_file():
            return path.resolve()
    raise RegistryDataError(f"{calendar.DATA_FILE.name}: {what} file {name!r} not found beside the calendar "
                            f"or in geo/data/")


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
    for length in _TYPE_PREFIX_LENGTHS:
        t = _TYPE_OF_PREFIX.get(low[:length])
        if t is not None:
            short = name[len(t) + 1:].strip()
            return t, short, f"{t} {short}"
    return "", name, name


_NUMBER_COLUMNS = ("lat", "lon", "area_km2")


def _frame(rows: list[dict]) -> pd.DataFrame:
    # Column by column as Python objects: a frame of the rows would first infer Arrow-backed
    # text columns, only to turn them back into objects.
    df = pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=float if c in _NUMBER_COLUMNS else object)
                       for c in UNIT_COLUMNS}, columns=UNIT_COLUMNS)
    df["district_code"] = df["district_code"].where(df["district_code"].notna(), None)
    df = df.sort_values("code", kind="stable").reset_index(drop=True)
    if df["code"].duplicated().any():  # pragma: no cover - package invariant
        raise RuntimeError("duplicate codes in the registry")
    return df


@lru_cache(maxsize=1 << 16)  # names repeat: 14,149 units of both vintages have 9,386 distinct names
def _named(name: str) -> tuple[str, str, str, str]:
    """(type, short name, name, search key) of a unit's name as the package or a changes file writes it."""
    typ, short, name = _split_type(" ".join(name.split()))
    return typ, short, name, normalise_name(name)


def _row(code, level, name, parent, province, district, lat, lon, area):
    typ, short, name, key = _named(str(name))
    return {
        "code": code, "level": level, "type": typ, "name": name, "short_name": short,
        "search_key": key, "parent_code": parent, "province_code": province,
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


def _build_legacy() -> pd.DataFrame:
    raw = _legacy_raw()
    nan = float("nan")
    # one pass over the package's rows (one per commune), each unit from its first row
    provinces, districts, communes = [], [], []
    seen_provinces, seen_districts, seen_communes = set(), set(), set()
    columns = ("province", "district", "ward", "provinceCode", "provinceLat", "provinceLon", "districtCode",
               "districtLat", "districtLon", "wardCode", "wardLat", "wardLon")
    for (province, district, ward, province_code, province_lat, province_lon, district_code, district_lat,
         district_lon, ward_code, ward_lat, ward_lon) in zip(*(raw[c] for c in columns)):
        if province_code not in seen_provinces:
            seen_provinces.add(province_code)
            provinces.append(_row(province_code, "province", province, "VN", province_code, None,
                                  province_lat, province_lon, nan))
        if district_code not in seen_districts:
            seen_districts.add(district_code)
            districts.append(_row(district_code, "district", district, province_code, province_code,
                                  district_code, district_lat, district_lon, nan))
        if ward_code is not None and ward_code not in seen_communes:
            seen_communes.add(ward_code)
            communes.append(_row(ward_code, "commune", ward, district_code, province_code,
                                 district_code, ward_lat, ward_lon, nan))
    return _frame(provinces + districts + communes)


def _build_new() -> pd.DataFrame:
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


_PACKAGE_TABLES = {"admin_units_legacy": _build_legacy, "admin_units": _build_new}


@lru_cache(maxsize=16)
def _units_cached(source: _Source) -> pd.DataFrame:
    if source[0] == "package":
        return _PACKAGE_TABLES[source[1]]()
    _, path, has_districts, before = source
    return _apply_changes(_units_cached(before), Path(path), has_districts)


_CHANGE_COLUMNS = ["change", "code", "level", "name", "parent_code", "lat", "lon", "area_km2"]


def _read_csv(path: Path, columns: list[str], required: set[str]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise RegistryDataError(f"{path.name}: not a UTF-8 CSV with the header {','.join(columns)} ({e})") from None
    df.columns = [str(c).strip() for c in df.columns]
    unknown = [c for c in df.columns if c not in columns]
    missing = sorted(required - set(df.columns))
    if unknown or missing:
        raise RegistryDataError(f"{path.name}: line 1: expected the header {','.join(columns)}"
                                + (f"; missing {', '.join(missing)}" if missing else "")
                                + (f"; unknown {', '.join(unknown)}" if unknown else ""))
    for c in columns:
        if c not in df.columns:
            df[c] = ""
    return df[columns].apply(lambda col: col.str.strip())


def _number(path: Path, line: int, column: str, text: str) -> float:
    if text == "":
        return float("nan")
    try:
        return float(text)
    except ValueError:
        raise RegistryDataError(f"{path.name}: line {line}, column {column}: {text!r}; expected a number "
                                f"or empty") from None


def _apply_changes(before: pd.DataFrame, path: Path, has_districts: bool) -> pd.DataFrame:
    """The units of ``before`` with the changes file at ``path`` applied (the module docstring)."""
    changes = _read_csv(path, _CHANGE_COLUMNS, {"change", "code"})
    levels = LEVELS if has_districts else ("province", "commune")
    want_parent = {"province": None, "district": "province", "commune": "district" if has_districts else "province"}
    units_by_code = {r["code"]: dict(r) for r in before.to_dict("records")}
    removed: set[str] = set()
    touched: set[str] = set()       # provinces whose communes changed
    area_given: set[str] = set()
    seen: set[str] = set()
    changed: set[str] = set()       # added or updated
    for i, r in enumerate(changes.to_dict("records")):
        line = i + 2
        code, change = r["code"], r["change"].lower()

        def bad(column, expected, value=None):
            got = r[column] if value is None else value
            return RegistryDataError(f"{path.name}: line {line}, column {column}: {got!r}; expected {expected}")
        if change not in ("add", "update", "remove"):
            raise bad("change", "add, update or remove")
        if not code.isdigit():
            raise bad("code", "the unit's code, digits only")
        if code in seen and not (change == "add" and code in removed):
            raise bad("code", "each unit once (a removed code may be added again once)")
        seen.add(code)
        old = units_by_code.get(code)
        if change == "remove":
            if old is None:
                raise bad("code", "a unit of the vintage before to remove")
            removed.add(code)
            if old["level"] == "commune":
                touched.add(old["province_code"])
            del units_by_code[code]
            continue
        if change == "add":
            if old is not None:
                raise bad("code", "a code the vintage before does not have (use update to change a unit, or "
                                  "remove it first)")
            for column in ("level", "name", "parent_code"):
                if not r[column]:
                    raise bad(column, "a value for a new unit")
            old = {"code": code, "level": r["level"], "lat": float("nan"), "lon": float("nan"),
                   "area_km2": float("nan"), "name": r["name"], "parent_code": r["parent_code"]}
        elif r["level"] and r["level"] != old["level"]:
            raise bad("level", f"{old['level']!r} or empty (a unit keeps its level; remove it and add another)")
        if old["level"] not in levels:
            raise bad("level", " or ".join(levels))
        name = " ".join((r["name"] or old["name"]).split())
        parent = r["parent_code"] or old["parent_code"]
        nums = {c: (_number(path, line, c, r[c]) if r[c] else old[c]) for c in ("lat", "lon", "area_km2")}
        if r["area_km2"] and old["level"] == "province":
            area_given.add(code)
        if old["level"] == "commune" and old.get("province_code"):
            touched.add(old["province_code"])
        new = _row(code, old["level"], name, parent, None, None, nums["lat"], nums["lon"], nums["area_km2"])
        new["_line"] = line
        units_by_code[code] = new
        changed.add(code)
    if not has_districts and any(u["level"] == "district" for u in units_by_code.values()):
        raise RegistryDataError(f"{path.name}: the vintage has no districts and the one before has: a changes "
                                f"file cannot remove a level")
    # parents, and the province and district each unit lies in, from the parents
    for code, u in units_by_code.items():
        parent = units_by_code.get(u["parent_code"])
        expected = want_parent[u["level"]]
        line = u.pop("_line", None)
        where = f"{path.name}: line {line}, column parent_code" if line else f"{path.name}: unit {code}"
        if expected is None:
            if u["parent_code"] != "VN":
                raise RegistryDataError(f"{where}: {u['parent_code']!r}; expected VN for a province")
            continue
        if parent is None or parent["level"] != expected:
            got = "removed" if u["parent_code"] in removed else (parent["level"] if parent else "no such unit")
            raise RegistryDataError(f"{where}: {u['parent_code']!r} ({got}); expected the code of the {expected} "
                                    f"{code} lies in")
    for code, u in units_by_code.items():
        p = u
        while p["level"] != "province":
            p = units_by_code[p["parent_code"]]
        u["province_code"] = p["code"]
        u["district_code"] = (code if u["level"] == "district" else
                              u["parent_code"] if u["level"] == "commune" and has_districts else None)
        if u["level"] == "commune" and code in changed:
            touched.add(p["code"])
    if not has_districts:
        communes: dict[str, list[float]] = {}
        for u in units_by_code.values():
            if u["level"] == "commune":
                communes.setdefault(u["province_code"], []).append(u["area_km2"])
        for code in touched - area_given:
            if code in units_by_code:
                areas = communes.get(code, [])
                units_by_code[code]["area_km2"] = (float(sum(areas)) if areas and not np.isnan(areas).any()
                                                   else float("nan"))
    return _frame([{c: u[c] for c in UNIT_COLUMNS} for u in units_by_code.values()])


def units(vintage: str) -> pd.DataFrame:
    """Every unit of a vintage, all levels, one row each, sorted by code.

    Columns: code, level, type, name, short_name, search_key, parent_code,
    province_code, district_code, lat, lon, area_km2 (see the module docstring
    for areas). The frame is cached and shared: do not mutate it.
    """
    return _units_cached(_source(vintage))


@lru_cache(maxsize=8)
def _index_of(source: _Source) -> dict[str, int]:
    return {c: i for i, c in enumerate(_units_cached(source)["code"])}


def _index(vintage: str) -> dict[str, int]:
    """Code -> row of :func:`units` (``geo/tiles.py`` reads it too)."""
    return _index_of(_source(vintage))


def unit(code: str, vintage: str) -> dict | None:
    """One unit as a dict (the columns of :func:`units`), or None if unknown."""
    source = _source(vintage)
    i = _index_of(source).get(str(code))
    if i is None:
        return None
    return _units_cached(source).iloc[i].to_dict()


@lru_cache(maxsize=8)
def _children_groups(source: _Source) -> dict[str, np.ndarray]:
    df = _units_cached(source)
    return {k: np.asarray(v) for k, v in df.groupby("parent_code", sort=False).indices.items()}


def children(parent_code: str, vintage: str) -> pd.DataFrame:
    """Units whose parent_code equals ``parent_code`` ("VN" for provinces), sorted by code.

    Returns a new frame (a slice copy), empty when there are none.
    """
    source = _source(vintage)
    idx = _children_groups(source).get(str(parent_code))
    df = _units_cached(source)
    if idx is None:
        return df.iloc[0:0].copy()
    return df.iloc[np.sort(idx)].reset_index(drop=True)


def label(code: str, vintage: str) -> str | None:
    """Name with its parents: "Xã Tân Hội, Thành phố Hồng Ngự, Tỉnh Đồng Tháp"."""
    return _labels(_source(vintage)).get(str(code))


@lru_cache(maxsize=8)
def _labels(source: _Source) -> dict[str, str]:
    df = _units_cached(source)
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

@lru_cache(maxsize=2)
def _package_converter(name: str) -> dict:
    path = _package_dir() / "data" / name
    if not path.is_file():
        raise RegistryDataError(f"{calendar.DATA_FILE.name}: crosswalk_to_next {name!r}: a .json crosswalk is a "
                                f"converter in the vietnamadminunits package's data folder, and it has no such file")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@lru_cache(maxsize=2)
def _package_crosswalk(name: str) -> pd.DataFrame:
    """The package's converter (``name`` in its data folder) as a crosswalk from its legacy units
    (``admin_units_legacy``) to its 2025 units (``admin_units``)."""
    conv = _package_converter(name)
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
    for province_key, district_key, ward_key, ward_code, district_code, province_code in zip(
            leg["provinceKey"], leg["districtKey"], leg["wardKey"], leg["wardCode"], leg["districtCode"],
            leg["provinceCode"]):
        key = f"{province_key}_{district_key}_{ward_key}"
        is_div = False
        hit = not_divided.get(key)
        if hit is None and key in divided:
            hit, is_div = divided[key], True
        new_code = new_prov = None
        if hit is not None:
            new_code = new_ward_code.get((_compact(hit[0]), _compact(hit[1])))
            new_prov = new_ward_province.get(new_code) if new_code else new_prov_code.get(_compact(hit[0]))
        if new_prov is None:
            pk = old_prov_to_new.get(province_key)
            new_prov = new_prov_code.get(_compact(pk)) if pk else None
        rows.append((ward_code, district_code, province_code, new_code, new_prov, is_div))
    df = pd.DataFrame(rows, columns=["old_commune_code", "old_district_code", "old_province_code",
                                     "new_commune_code", "new_province_code", "divided"])
    df["divided"] = df["divided"].astype(bool)
    for c in df.columns[:-1]:
        df[c] = df[c].astype(object)
    return df


@lru_cache(maxsize=2)
def _package_splits(name: str) -> dict[str, list[str]]:
    conv = _package_converter(name)
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




_CROSSWALK_COLUMNS = ["old_code", "new_code", "default"]
_CROSSWALK_FRAME = ["old_commune_code", "old_district_code", "old_province_code",
                    "new_commune_code", "new_province_code", "divided"]


def _crosswalk_frame(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=_CROSSWALK_FRAME)
    df["divided"] = df["divided"].astype(bool)
    for c in df.columns[:-1]:
        df[c] = df[c].astype(object)
    return df


def _removed_codes(source: _Source) -> set[str]:
    if source[0] != "changes":
        return set()
    changes = _read_csv(Path(source[1]), _CHANGE_COLUMNS, {"change", "code"})
    return set(changes.loc[changes["change"].str.lower() == "remove", "code"])


def _csv_step(old_src: _Source, new_src: _Source, path: Path, old_id: str, new_id: str):
    """A crosswalk file (the module docstring) as the crosswalk frame and the split communes."""
    old, new = _units_cached(old_src), _units_cached(new_src)
    old_c = old[old["level"] == "commune"]
    new_province = {c: p for c, lv, p in zip(new["code"], new["level"], new["province_code"]) if lv == "commune"}
    old_codes = set(old_c["code"])
    targets: dict[str, list[str]] = {}
    defaults: dict[str, str] = {}
    for i, r in enumerate(_read_csv(path, _CROSSWALK_COLUMNS, {"old_code", "new_code"}).to_dict("records")):
        line = i + 2

        def bad(column, expected):
            return RegistryDataError(f"{path.name}: line {line}, column {column}: {r[column]!r}; expected {expected}")
        if r["old_code"] not in old_codes:
            raise bad("old_code", f"the code of a commune of vintage {old_id}")
        if r["new_code"] not in new_province:
            raise bad("new_code", f"the code of a commune of vintage {new_id}")
        if r["default"] not in ("", "0", "1"):
            raise bad("default", "1 (the commune the restated series counts it in), 0 or empty")
        listed = targets.setdefault(r["old_code"], [])
        if r["new_code"] in listed:
            raise bad("new_code", f"each commune {r['old_code']} went into once")
        listed.append(r["new_code"])
        if r["default"] == "1":
            if r["old_code"] in defaults:
                raise bad("default", f"one default for commune {r['old_code']}")
            defaults[r["old_code"]] = r["new_code"]
    removed = _removed_codes(new_src)
    rows = []
    splits: dict[str, list[str]] = {}
    for code, district, province, name in zip(old_c["code"], old_c["district_code"], old_c["province_code"],
                                              old_c["name"]):
        went = targets.get(code)
        if went is None:
            if code in removed or code not in new_province:
                raise RegistryDataError(f"{path.name}: commune {code} ({name}) of vintage {old_id} is not a commune "
                                        f"of vintage {new_id}: expected a row old_code,new_code saying where it went")
            went = [code]
        if len(went) > 1:
            if code not in defaults:
                raise RegistryDataError(f"{path.name}: commune {code} ({name}) went into {', '.join(went)}: expected "
                                        f"default = 1 on the one the restated series counts it in")
            went = [defaults[code], *(c for c in went if c != defaults[code])]
            splits[code] = went
        rows.append((code, district, province, went[0], new_province[went[0]], len(went) > 1))
    return _crosswalk_frame(rows), splits


@lru_cache(maxsize=16)
def _step_key_in(calendar_file: str, old_id: str) -> tuple:
    v = calendar.vintage(old_id)
    name = v.crosswalk_to_next
    if name.endswith(".json"):
        spec = ("package", name)
    elif name.endswith(".csv"):
        spec = ("csv", str(_data_file(name, f"vintage {old_id!r}: crosswalk_to_next")))
    else:
        raise RegistryDataError(f"{Path(calendar_file).name}: vintage {old_id!r}: crosswalk_to_next {name!r}; "
                                f"expected a .csv file (or the package's .json converter)")
    new_id = calendar.vintage_after(old_id)
    return (_source(old_id), _source(new_id), spec, old_id, new_id)


@lru_cache(maxsize=8)
def _step(key: tuple) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    old_src, new_src, (kind, name), old_id, new_id = key
    if kind == "package":
        if (old_src, new_src) != (("package", "admin_units_legacy"), ("package", "admin_units")):
            raise RegistryDataError(f"{calendar.DATA_FILE.name}: vintage {old_id!r}: the package's converter {name!r} "
                                    f"goes from its admin_units_legacy to its admin_units; expected a .csv crosswalk")
        return _package_crosswalk(name), _package_splits(name)
    return _csv_step(old_src, new_src, Path(name), old_id, new_id)


def _steps(from_vintage: str | None, to_vintage: str | None) -> list[tuple]:
    ids = calendar.vintage_ids()
    a = ids.index(_check_vintage(from_vintage)) if from_vintage is not None else 0
    b = ids.index(_check_vintage(to_vintage)) if to_vintage is not None else len(ids) - 1
    if a >= b:
        raise ValueError(f"a crosswalk goes from a vintage to a later one; got {ids[a]!r} -> {ids[b]!r} "
                         f"(vintages, oldest first: {ids})")
    return [_step_key_in(str(calendar.DATA_FILE), v) for v in ids[a:b]]


def crosswalk(from_vintage: str | None = None, to_vintage: str | None = None) -> pd.DataFrame:
    """Commune crosswalk from one vintage to a later one, one row per commune of ``from_vintage``
    (default: the earliest vintage; ``to_vintage`` default: the latest).

    Columns: old_commune_code, old_district_code, old_province_code,
    new_commune_code, new_province_code, divided. One step is the calendar's
    ``crosswalk_to_next``: for 2019 -> 2025 the package's ``converter_2025.json``,
    where an old commune divided among several new ones (``divided`` True) goes
    to the one the package marks ``isDefaultNewWard`` (the package's own default
    for addresses without a street); the others are not listed
    (:func:`split_communes` lists them). ``new_commune_code`` is None only if
    the package has no mapping for that commune. Across several vintages the
    steps are chained: a commune goes to its default's default, and
    ``divided`` says that some step divided the unit it went to. With two
    vintages, ``crosswalk()`` is the one step out of the earliest. Cached: do
    not mutate.
    """
    return _chained(tuple(_steps(from_vintage, to_vintage)))


@lru_cache(maxsize=8)
def _chained(keys: tuple) -> pd.DataFrame:
    out = _step(keys[0])[0]
    for key in keys[1:]:
        step = _step(key)[0]
        new_units = _units_cached(key[1])
        province_of = dict(zip(new_units["code"], new_units["province_code"]))
        to = dict(zip(step["old_commune_code"], step["new_commune_code"]))
        divided = dict(zip(step["old_commune_code"], step["divided"]))
        # a unit with no commune to follow is carried by its province, to the province most of
        # that province's communes went to
        pairs = step.groupby(["old_province_code", "new_province_code"]).size().reset_index(name="n")
        pairs = pairs.sort_values(["old_province_code", "n", "new_province_code"], ascending=[True, False, True])
        province_to = dict(zip(pairs.drop_duplicates("old_province_code")["old_province_code"],
                               pairs.drop_duplicates("old_province_code")["new_province_code"]))
        commune = [to.get(c) if c else None for c in out["new_commune_code"]]
        out = _crosswalk_frame(list(zip(
            out["old_commune_code"], out["old_district_code"], out["old_province_code"], commune,
            [province_of.get(c) if c else province_to.get(p) for c, p in zip(commune, out["new_province_code"])],
            [bool(d) or bool(divided.get(c, False)) for c, d in zip(out["new_commune_code"], out["divided"])])))
    return out


def split_communes(vintage: str | None = None) -> dict[str, list[str]]:
    """Commune code of ``vintage`` (default: the earliest) -> every commune of the next vintage
    it was split among (the default first); only split communes are listed. :func:`crosswalk`
    keeps only the default of a split commune (the restated series counts it there); a unit's
    lineage names all of them."""
    ids = calendar.vintage_ids()
    vintage = _check_vintage(vintage) if vintage is not None else ids[0]
    if vintage == ids[-1]:
        raise ValueError(f"vintage {vintage!r} is the latest: its communes were split into nothing yet")
    return _step(_step_key_in(str(calendar.DATA_FILE), vintage))[1]


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
    def __init__(self, source: _Source):
        df = _units_cached(source)
        self.codes = df["code"].to_numpy()
        self.levels = df["level"].to_numpy()
        self.names = df["name"].to_numpy()
        self.types = df["type"].to_numpy()
        self.level_rank = np.array([_LEVEL_RANK[x] for x in self.levels])
        self.short = [_tokens_key(s) for s in df["short_name"]]
        self.full = [_tokens_key(s) for s in df["name"]]
        labels = _labels(source)
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


@lru_cache(maxsize=8)
def _search_index(source: _Source) -> _SearchIndex:
    return _SearchIndex(source)


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
    idx = _search_index(_source(vintage))
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
