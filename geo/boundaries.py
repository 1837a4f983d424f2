"""Installable boundaries: read an agency's file, check it, store web-ready layers.

The project ships no boundaries. ``install`` reads a GeoJSON, Shapefile or
GeoPackage (anything geopandas/pyogrio reads), attaches registry codes,
reprojects to WGS 84, repairs invalid geometry and writes, under
:func:`data_dir`::

    <data_dir>/<vintage>/<level>/
        raw.parquet    normalised full-resolution GeoParquet (EPSG:4326)
        high.parquet   web layer, detail "high": coverage-simplified, 5 decimals
        low.parquet    web layer, detail "low":  coverage-simplified, 4 decimals
        meta.json      provinces, feature count, tolerances, sources

Every stored layer has columns ``code, name, province_code, district_code,
known, geometry`` where ``known`` is False for codes that are not in the
registry of that vintage (kept so that maps have no holes; they carry no
data). ``province_code``/``district_code`` come from the registry for known
codes and from the file (if it has such columns) for the others.

Merging. Installing the same vintage+level again merges *by province*: every
province present in the new file is replaced wholesale, the other provinces
already installed are kept. So a commune file for province 87 and then one for
89 leave both installed; re-installing 87 replaces 87 only. The web layers are
then recomputed for the merged layer so that edges shared across installs stay
shared. The whole level directory is written to a temporary directory and
renamed into place (atomic on one filesystem; see ``atomic.py``); a re-install
cut short between its two renames is put back by the next listing or install.

Before simplifying, the layer is made a valid coverage with
``shapely.coverage_clean`` (overlaps removed, shared vertices snapped, gaps
under about 11 m closed). Simplification uses ``shapely.coverage_simplify`` on the whole layer treated
as a coverage, so that neighbours keep a common edge (no slivers or gaps are
introduced). Tolerances are per level (degrees), see ``TOLERANCES``.
Coordinates are then snapped with ``shapely.set_precision`` (which keeps
geometries valid) to 1e-5 degrees (about 1 m) for "high" and 1e-4 degrees
(about 11 m) for "low".
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from atomic import (DIR_MODE, OLD_PREFIX, TMP_PREFIX, atomic_replace_dir, leftover_name, new_tmp_dir,
                    restore_interrupted)

from .registry import VINTAGES, _tokens_key, units

LEVELS = ("province", "district", "commune")
# A half-written layer folder older than this (seconds) is a killed install's, not a running one's.
LEFTOVER_AGE = 3600
DETAILS = ("high", "low")
CODE_LENGTH = {"province": 2, "district": 3, "commune": 5}

#: coverage_simplify tolerance in degrees, per level and detail.
TOLERANCES = {
    "province": {"high": 0.001, "low": 0.005},
    "district": {"high": 0.001, "low": 0.003},
    "commune": {"high": 0.0005, "low": 0.0015},
}
#: coordinate grid in degrees per detail (5 and 4 decimals).
GRID = {"high": 1e-5, "low": 1e-4}
#: coordinates outside this box (lon_min, lat_min, lon_max, lat_max) are not Vietnam.
VIETNAM_BOX = (101.0, 6.0, 118.5, 24.0)
#: rough boxes of the two archipelagos, which a national map must include.
ARCHIPELAGOS = {
    "Hoàng Sa (Paracel Islands)": (111.0, 15.6, 113.0, 17.3),
    "Trường Sa (Spratly Islands)": (111.3, 6.0, 117.9, 11.6),
}
#: the province each archipelago belongs to, per vintage (Đà Nẵng, Khánh Hòa).
ARCHIPELAGO_PROVINCE = {"Hoàng Sa (Paracel Islands)": "48", "Trường Sa (Spratly Islands)": "56"}

LAYER_COLUMNS = ["code", "name", "province_code", "district_code", "known", "geometry"]


class GeoInstallError(Exception):
    """Raised internally when an install cannot proceed; reported in InstallReport.errors."""


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """Where installed boundaries live: $SIPAS_GEO_DATA, else <repo root>/geo_data."""
    env = os.environ.get("SIPAS_GEO_DATA")
    return Path(env).expanduser() if env else _repo_root() / "geo_data"


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

@dataclass
class InstallReport:
    """What an install did. ``ok`` is False when ``errors`` is not empty."""

    source: str = ""
    vintage: str = ""
    level: str = ""
    ok: bool = False
    features: int = 0
    matched: int = 0
    code_column: str | None = None
    matched_by: str = ""  # "code" or "name"
    provinces: list[str] = field(default_factory=list)
    missing_codes: list[str] = field(default_factory=list)
    extra_codes: list[str] = field(default_factory=list)
    unmatched_names: list[str] = field(default_factory=list)
    repaired: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    source_crs: str | None = None
    bytes_raw: int = 0       # GeoJSON bytes of the installed features, before simplification
    bytes_web_high: int = 0  # GeoJSON bytes of the same features in the "high" web layer
    bytes_web_low: int = 0   # ... in the "low" web layer
    vertices_raw: int = 0
    vertices_web_high: int = 0
    vertices_web_low: int = 0
    layer_features: int = 0  # features in the installed layer after merging
    path: str | None = None
    seconds: float = 0.0

    def text(self) -> str:
        """A human-readable report."""
        def lst(xs, n=30):
            xs = list(xs)
            s = ", ".join(xs[:n])
            return s + (f", … ({len(xs) - n} more)" if len(xs) > n else "")

        status = "OK" if self.ok else "FAILED"
        lines = [f"{status}: install {self.source} as vintage {self.vintage}, level {self.level}"]
        if self.source_crs:
            lines.append(f"  source CRS: {self.source_crs}")
        if self.code_column or self.matched_by:
            how = f"codes from column '{self.code_column}'" if self.matched_by == "code" else \
                f"names matched within their parents (column '{self.code_column}')"
            lines.append(f"  matched by: {how}")
        lines.append(f"  features: {self.features}; matched to the registry: {self.matched}")
        if self.provinces:
            lines.append(f"  provinces covered: {len(self.provinces)} ({lst(self.provinces, 12)})")
        if self.repaired:
            lines.append(f"  geometries repaired: {self.repaired}")
        lines.append(f"  missing (registry units with no geometry): {len(self.missing_codes)}"
                     + (f": {lst(self.missing_codes)}" if self.missing_codes else ""))
        lines.append(f"  extra (codes not in the registry): {len(self.extra_codes)}"
                     + (f": {lst(self.extra_codes)}" if self.extra_codes else ""))
        if self.unmatched_names:
            lines.append(f"  unmatched names: {len(self.unmatched_names)}: {lst(self.unmatched_names)}")
        if self.bytes_raw:
            lines.append(
                f"  GeoJSON size: {self.bytes_raw:,} B raw -> {self.bytes_web_high:,} B high "
                f"({_pct(self.bytes_web_high, self.bytes_raw)}) -> {self.bytes_web_low:,} B low "
                f"({_pct(self.bytes_web_low, self.bytes_raw)})")
            lines.append(f"  vertices: {self.vertices_raw:,} raw -> {self.vertices_web_high:,} high -> "
                         f"{self.vertices_web_low:,} low")
        if self.layer_features:
            lines.append(f"  installed layer now holds {self.layer_features} features")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        for e in self.errors:
            lines.append(f"  error: {e}")
        if self.seconds:
            lines.append(f"  took {self.seconds:.2f} s")
        return "\n".join(lines)


def _pct(a, b):
    return f"{100 * a / b:.0f} %" if b else "-"


# ---------------------------------------------------------------------------
# Reading and matching
# ---------------------------------------------------------------------------

def _norm_code(v, length: int) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    s = str(v).strip()
    if re.fullmatch(r"\d+\.0+", s):
        s = s.split(".")[0]
    if s.isdigit() and len(s) <= length:
        return s.zfill(length)
    return s or None


def _norm_codes(series: pd.Series, length: int) -> pd.Series:
    return series.map(lambda v: _norm_code(v, length)).astype(object)


_TYPE_PREFIX = re.compile(
    r"^(thanh pho|thi xa|thi tran|dac khu|tinh|quan|huyen|phuong|xa|tp|tx|tt|q|h|p|x)\s+")


def _name_keys(name) -> tuple[str, str]:
    """(full key, short key) of a unit name: unaccented, numbers without leading zeros."""
    full = _tokens_key("" if name is None else str(name))
    full = re.sub(r"\b0+(\d)", r"\1", full)
    short = _TYPE_PREFIX.sub("", full)
    return full, short


_CODE_NAMES = ("code", "ma", "ma_dvhc", "madvhc", "gso_code", "admin_code", "id")
_NAME_NAMES = ("name", "ten", "ten_dvhc", "tendvhc", "name_vi", "full_name")


def _detect_code_column(gdf, reg_codes: set, length: int) -> tuple[str | None, float]:
    best, best_score = None, 0.0
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        vals = _norm_codes(gdf[col], length)
        score = float(vals.isin(reg_codes).mean()) if len(vals) else 0.0
        bonus = 0.01 if str(col).lower() in _CODE_NAMES else 0.0
        if score > 0 and score + bonus > best_score:
            best, best_score = col, score + bonus
    if best_score >= 0.5:
        return best, min(best_score, 1.0)
    # A column that looks like codes of this level (digits of the right length)
    # is taken as the code column even if its codes are unknown, so that a file
    # of the wrong vintage or level is reported rather than matched by names.
    for col in gdf.columns:
        if col == gdf.geometry.name or str(col).lower() not in _CODE_NAMES:
            continue
        vals = _norm_codes(gdf[col], length)
        shaped = vals.map(lambda v: isinstance(v, str) and v.isdigit() and len(v) == length)
        if len(vals) and shaped.mean() >= 0.9:
            return col, best_score
    return None, best_score


def _detect_parent_column(gdf, reg_parent_codes: set, length: int, exclude) -> str | None:
    best, best_score = None, 0.0
    for col in gdf.columns:
        if col == gdf.geometry.name or col in exclude:
            continue
        vals = _norm_codes(gdf[col], length)
        score = float(vals.isin(reg_parent_codes).mean()) if len(vals) else 0.0
        if score > best_score:
            best, best_score = col, score
    return best if best_score >= 0.9 else None


def _detect_name_column(gdf, reg_full: set, reg_short: set) -> str | None:
    best, best_score = None, 0.0
    for col in gdf.columns:
        if col == gdf.geometry.name or gdf[col].dtype.kind in "biufc":
            continue
        keys = gdf[col].map(_name_keys)
        score = float(np.mean([(f in reg_full) or (s in reg_short) for f, s in keys])) if len(keys) else 0.0
        score += 0.01 if str(col).lower() in _NAME_NAMES else 0.0
        if score > best_score:
            best, best_score = col, score
    return best if best_score >= 0.3 else None


def _match_names(gdf, name_col, reg, level, vintage, report) -> pd.Series:
    """Codes for features by name within their parent; unmatched ones get None and are reported."""
    parent_col_len = None
    parent_col = None
    exclude = {name_col}
    if level == "commune" and vintage == "2019":
        parent_col = _detect_parent_column(gdf, set(reg["district_code"].dropna()), 3, exclude)
        parent_col_len, parent_field = 3, "district_code"
    if parent_col is None and level != "province":
        parent_col = _detect_parent_column(gdf, set(reg["province_code"]), 2, exclude)
        parent_col_len, parent_field = 2, "province_code"
    if level == "province":
        parent_field = None
    groups: dict = {}
    for code, full, short, parent in zip(
            reg["code"], reg["full_key"], reg["short_key"],
            reg[parent_field] if parent_field else ["VN"] * len(reg)):
        g = groups.setdefault(parent if parent_col else "*", {"full": {}, "short": {}})
        g["full"].setdefault(full, []).append(code)
        g["short"].setdefault(short, []).append(code)
    if parent_col:
        report.warnings.append(f"names matched within parents from column '{parent_col}'")
    elif level != "province":
        report.warnings.append("no parent-code column found: names matched nationwide, "
                               "only where unique")
    parents = _norm_codes(gdf[parent_col], parent_col_len) if parent_col else pd.Series(["*"] * len(gdf))
    out = []
    for name, parent in zip(gdf[name_col], parents):
        full, short = _name_keys(name)
        g = groups.get(parent)
        hit = None
        if g is not None:
            for key, table in ((full, g["full"]), (short, g["short"])):
                cands = table.get(key, [])
                if len(cands) == 1:
                    hit = cands[0]
                    break
                if len(cands) > 1:
                    break
        if hit is None:
            where = f" in {parent}" if parent_col else ""
            n = len(g["full"].get(full, []) or g["short"].get(short, [])) if g else 0
            why = f"ambiguous, {n} candidates" if n > 1 else "no match"
            report.unmatched_names.append(f"{name}{where} ({why})")
        out.append(hit)
    codes = pd.Series(out, index=gdf.index, dtype=object)
    dup = codes[codes.notna() & codes.duplicated(keep=False)]
    if len(dup):
        for i in dup.index:
            report.unmatched_names.append(f"{gdf.at[i, name_col]} (several features match {dup[i]})")
        codes[dup.index] = None
    return codes


def _read(path: Path):
    import geopandas as gpd

    return gpd.read_file(path)


def _to_wgs84(gdf, report):
    from pyproj import CRS

    lon0, lat0, lon1, lat1 = VIETNAM_BOX
    if gdf.crs is None:
        b = gdf.total_bounds
        if np.all(np.isfinite(b)) and -180 <= b[0] and b[2] <= 180 and -90 <= b[1] and b[3] <= 90:
            report.warnings.append("the file declares no CRS; its coordinates look like "
                                   "longitude/latitude, so WGS 84 (EPSG:4326) was assumed")
            gdf = gdf.set_crs(4326)
        else:
            raise GeoInstallError(
                "the file declares no CRS and its coordinates are not longitude/latitude "
                f"(bounds {np.round(b, 1).tolist()}); re-export it with its CRS (.prj) "
                "or convert it to EPSG:4326 first")
    crs = CRS.from_user_input(gdf.crs)
    report.source_crs = crs.to_string()
    if not crs.equals(CRS.from_epsg(4326)):
        gdf = gdf.to_crs(4326)
        report.warnings.append(f"reprojected from {report.source_crs} to WGS 84 (EPSG:4326)")
    b = gdf.total_bounds
    if not (np.all(np.isfinite(b)) and b[0] >= lon0 and b[2] <= lon1 and b[1] >= lat0 and b[3] <= lat1):
        raise GeoInstallError(
            f"after reading the file as {report.source_crs}, its bounds "
            f"{np.round(b, 3).tolist()} are not in Vietnam (lon {lon0}–{lon1}, lat {lat0}–{lat1}); "
            "the CRS is probably wrong or mislabelled (e.g. projected metres declared as EPSG:4326, "
            "or latitude/longitude swapped)")
    return gdf


def _polygonal(geom):
    import shapely
    from shapely.geometry import MultiPolygon, Polygon

    if geom is None or geom.is_empty:
        return None
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, (Polygon, MultiPolygon))]
    polys = []
    for p in parts:
        polys.extend(shapely.get_parts(p))
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _repair(gs, report):
    import shapely

    geoms = np.asarray(gs.values, dtype=object)
    valid = shapely.is_valid(geoms)
    bad = ~valid & ~shapely.is_missing(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
        report.repaired = int(bad.sum())
        report.warnings.append(f"repaired {int(bad.sum())} invalid geometries (make_valid, structure)")
    return np.array([_polygonal(g) for g in geoms], dtype=object)


# ---------------------------------------------------------------------------
# Web layers
# ---------------------------------------------------------------------------

#: gaps narrower than this (degrees, about 11 m) are closed when the coverage is cleaned.
GAP_WIDTH = 1e-4


def _clean_coverage(geoms: np.ndarray, report) -> np.ndarray:
    """Make the layer a valid coverage before simplifying: overlaps go to the
    neighbour with the longest shared border, nearby vertices are snapped
    (1e-6 degrees) so shared edges are identical, gaps under GAP_WIDTH closed.
    Without this, edges that do not match exactly are simplified separately
    and overlap."""
    import shapely

    try:
        if shapely.coverage_is_valid(geoms):
            return geoms
        cleaned = shapely.coverage_clean(geoms, gap_width=GAP_WIDTH, snapping_distance=1e-6)
    except Exception as exc:  # noqa: BLE001  # pragma: no cover - GEOS errors on exotic input
        report.warnings.append(f"coverage cleaning failed ({exc}); simplified without it")
        return geoms
    cleaned = np.array([_polygonal(g) for g in cleaned], dtype=object)
    lost = np.array([g is None for g in cleaned])
    cleaned[lost] = geoms[lost]
    return cleaned


def _simplify(geoms: np.ndarray, level: str, detail: str) -> np.ndarray:
    import shapely

    tol = TOLERANCES[level][detail]
    out = np.asarray(shapely.coverage_simplify(geoms, tol, simplify_boundary=True), dtype=object)
    out = shapely.set_precision(out, GRID[detail])
    # set_precision can collapse a sliver to empty; fall back to the unsimplified snap.
    empty = shapely.is_empty(out)
    if empty.any():
        out[empty] = shapely.set_precision(geoms[empty], GRID[detail])
    return np.array([_polygonal(g) for g in out], dtype=object)


def _geojson_bytes(gdf, decimals: int | None) -> int:
    return len(json.dumps(_feature_collection(gdf, decimals), separators=(",", ":")).encode())


def _feature_collection(gdf, decimals: int | None) -> dict:
    import shapely

    feats = []
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    if decimals is not None:
        geoms = shapely.transform(geoms, lambda c: np.round(c, decimals))
    js = shapely.to_geojson(geoms)
    extra = [c for c in ("name", "province_code", "district_code") if c in gdf.columns]
    cols = {c: gdf[c].tolist() for c in extra}
    for i, (code, g) in enumerate(zip(gdf["code"].tolist(), js)):
        geom = json.loads(g) if g is not None else None
        props = {"code": code}
        for c in extra:
            v = cols[c][i]
            props[c] = None if v is None or (isinstance(v, float) and np.isnan(v)) else v
        feats.append({"type": "Feature", "id": code, "properties": props, "geometry": geom})
    return {"type": "FeatureCollection", "features": feats}


def _vertices(geoms) -> int:
    import shapely

    return int(shapely.get_num_coordinates(np.asarray(geoms, dtype=object)).sum())


# ---------------------------------------------------------------------------
# Install
# ---------------------------------------------------------------------------

def _layer_dir(root: Path, vintage: str, level: str) -> Path:
    return root / vintage / level


def install(path, vintage: str, level: str, *, code_column: str | None = None,
            dest: Path | None = None) -> InstallReport:
    """Install a boundary file as the ``level`` layer of ``vintage``, under ``dest`` (default
    :func:`data_dir`), and report what was done.

    The stages, in order (each a function below, each adding to the report):

    1. :func:`_check_request`: a known vintage and level, and a file that exists;
    2. :func:`_read_features`: read the file (GeoJSON, Shapefile, GeoPackage, ...);
    3. :func:`_match_codes`: give every feature its registry code, from a code column or by
       name within its parent;
    4. :func:`_check_geometry`: reproject to WGS 84 and repair invalid geometry;
    5. :func:`_dissolve_repeated`: one feature per code;
    6. :func:`_attach_registry`: names and parents from the registry; unknown codes kept;
    7. :func:`_check_coverage`: missing and extra codes, Hoàng Sa and Trường Sa;
    8. :func:`_merge_installed`: merge by province with the layer already installed;
    9. :func:`_web_layers`: clean the coverage, simplify it into the "high" and "low" layers;
    10. :func:`_measure`: sizes and vertices before and after simplifying;
    11. :func:`_write_atomic`: write raw/high/low GeoParquet and ``meta.json``, swapped in at once.

    Never raises for bad input: problems go to ``report.errors`` and nothing
    is written. Extra (unknown) codes are reported and kept (``known`` False);
    the install fails only if fewer than half the features match the registry.
    """
    t0 = time.perf_counter()
    path = Path(path)
    report = InstallReport(source=path.name, vintage=str(vintage), level=str(level))
    try:
        _check_request(path, vintage, level)
        root = Path(dest) if dest is not None else data_dir()
        gdf = _read_features(path, report)
        reg_all = units(vintage)
        reg = reg_all[reg_all["level"] == level]
        gdf = _match_codes(gdf, reg, vintage, level, code_column, report)
        gdf = _check_geometry(gdf, report)
        gdf, file_prov = _dissolve_repeated(gdf, reg_all, level, report)
        new = _attach_registry(gdf, reg, file_prov, vintage, level, report)
        present = _check_coverage(new, reg, vintage, level, report)
        layer_dir = _layer_dir(root, report.vintage, level)
        merged = _merge_installed(new, layer_dir, present, report)
        layers = _web_layers(merged, level, report)
        _measure(layers, new, report)
        _write_atomic(layer_dir, layers, _layer_meta(layers["raw"], layer_dir, path, level, report))
        report.path = str(layer_dir)
        _clear_caches()
        report.ok = not report.errors
    except GeoInstallError as exc:
        report.errors.append(str(exc))
        report.ok = False
    report.seconds = time.perf_counter() - t0
    return report


def _check_request(path: Path, vintage, level) -> None:
    """A vintage and level the registry has (vintage 2025 has no districts), and a file that exists."""
    if str(vintage) not in VINTAGES:
        raise GeoInstallError(f"unknown vintage {vintage!r}; use one of {', '.join(VINTAGES)}")
    if level not in LEVELS:
        raise GeoInstallError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    if level == "district" and vintage == "2025":
        raise GeoInstallError("there are no districts from 2025 (vintage 2025 has provinces and communes)")
    if not path.exists():
        raise GeoInstallError(f"file not found: {path}")


def _read_features(path: Path, report):
    """The file's features (anything geopandas/pyogrio reads); a file with none is an error."""
    try:
        gdf = _read(path)
    except Exception as exc:  # pyogrio errors are varied
        raise GeoInstallError(f"could not read {path.name}: {exc}") from exc
    if len(gdf) == 0:
        raise GeoInstallError("the file has no features")
    report.features = len(gdf)
    return gdf


def _match_codes(gdf, reg, vintage, level, code_column, report):
    """The features with a registry code each (column ``code``); features without one dropped.

    The codes come from ``code_column``, else from the column whose values best match the
    registry's codes of this level; failing that, names are matched within their parent (from
    a parent-code column when there is one), and every unmatched name is reported rather than
    guessed. Fewer than half the names matched is an error (wrong vintage or level)."""
    length = CODE_LENGTH[level]
    if code_column is not None:
        if code_column not in gdf.columns:
            raise GeoInstallError(
                f"code column '{code_column}' is not in the file; its columns are: "
                f"{', '.join(c for c in gdf.columns if c != gdf.geometry.name)}")
        codes = _norm_codes(gdf[code_column], length)
        report.code_column, report.matched_by = code_column, "code"
    else:
        col, score = _detect_code_column(gdf, set(reg["code"]), length)
        if col is not None:
            codes = _norm_codes(gdf[col], length)
            report.code_column, report.matched_by = col, "code"
        else:
            reg_k = reg.assign(
                full_key=[_name_keys(n)[0] for n in reg["name"]],
                short_key=[_name_keys(n)[1] for n in reg["name"]])
            name_col = _detect_name_column(gdf, set(reg_k["full_key"]), set(reg_k["short_key"]))
            cols = ", ".join(c for c in gdf.columns if c != gdf.geometry.name) or "(none)"
            if name_col is None:
                raise GeoInstallError(
                    f"no column holds {level} codes of vintage {vintage} (best match "
                    f"{score:.0%}) and no column holds names to match; columns: {cols}. "
                    "Pass --code-column if the codes are there in another form.")
            report.warnings.append(
                f"no code column found (columns: {cols}); matching names from '{name_col}'")
            report.code_column, report.matched_by = name_col, "name"
            codes = _match_names(gdf, name_col, reg_k, level, vintage, report)
            if codes.notna().sum() < 0.5 * len(gdf):
                raise GeoInstallError(
                    f"no code column, and only {int(codes.notna().sum())} of {len(gdf)} names "
                    f"match {level} names of vintage {vintage} (see unmatched names); "
                    "wrong vintage or level?")
    if codes.isna().any() and report.matched_by == "code":
        report.warnings.append(f"{int(codes.isna().sum())} features have no code; dropped")

    gdf = gdf.assign(code=codes.values)
    gdf = gdf[gdf["code"].notna()]
    if len(gdf) == 0:
        raise GeoInstallError("no feature could be given a code")
    return gdf


def _check_geometry(gdf, report):
    """The features in WGS 84 with valid polygonal geometry. A file with no CRS is accepted only
    if its coordinates are longitude/latitude, and coordinates outside Vietnam after
    reprojection are an error (which catches mislabelled CRSs); invalid geometry is repaired,
    and features left with no polygon are dropped."""
    import geopandas as gpd

    gdf = _to_wgs84(gdf, report)
    geoms = _repair(gdf.geometry, report)
    empty = np.array([g is None for g in geoms])
    if empty.any():
        report.warnings.append(f"{int(empty.sum())} features have empty or non-polygon geometry; dropped: "
                               + ", ".join(map(str, gdf["code"][empty].tolist()[:20])))
    gdf = gpd.GeoDataFrame(gdf.drop(columns=gdf.geometry.name), geometry=list(geoms), crs=4326)
    return gdf[~empty]


def _dissolve_repeated(gdf, reg_all, level, report):
    """One feature per code (the geometries of a repeated code dissolved into one), and the
    province codes of the file's own parent column, if it has one (None otherwise): the only
    parents there are for codes the registry does not know."""
    file_prov = None
    pcol = _detect_parent_column(gdf, set(reg_all.loc[reg_all.level == "province", "code"]), 2,
                                 {"code", report.code_column})
    if pcol is not None and level != "province":
        file_prov = _norm_codes(gdf[pcol], 2)

    if gdf["code"].duplicated().any():
        n = int(gdf["code"].duplicated().sum())
        report.warnings.append(f"{n} repeated codes: their geometries were dissolved into one feature each")
        keep_prov = file_prov
        gdf = gdf.assign(_fp=file_prov.values if file_prov is not None else None)
        gdf = gdf.dissolve(by="code", aggfunc="first", as_index=False)
        file_prov = gdf["_fp"] if keep_prov is not None else None
        gdf = gdf.drop(columns="_fp")
    return gdf, file_prov


def _attach_registry(gdf, reg, file_prov, vintage, level, report):
    """The file's layer in the stored columns (``LAYER_COLUMNS``), sorted by code: names and
    parents from the registry for known codes, from the file for the others (``known`` False).
    Fewer than half the codes known to the registry is an error (wrong vintage, level or column)."""
    import geopandas as gpd

    reg_idx = reg.set_index("code")
    known = gdf["code"].isin(set(reg["code"])).to_numpy()
    report.matched = int(known.sum())
    report.extra_codes = sorted(gdf.loc[~known, "code"].tolist())
    if report.matched < 0.5 * len(gdf):
        raise GeoInstallError(
            f"only {report.matched} of {len(gdf)} codes are {level} codes of vintage {vintage} "
            f"(unknown, e.g.: {', '.join(report.extra_codes[:10])}); wrong vintage, level or column?")

    codes_arr = gdf["code"].to_numpy()
    prov = np.array([reg_idx.at[c, "province_code"] if k else None for c, k in zip(codes_arr, known)],
                    dtype=object)
    if level == "province":
        prov = np.where(known, prov, codes_arr)
    elif file_prov is not None:
        fp = file_prov.to_numpy()
        prov = np.where(known, prov, fp)
    dist = np.array([reg_idx.at[c, "district_code"] if k else None for c, k in zip(codes_arr, known)],
                    dtype=object)
    if level == "district":
        dist = np.where(known, dist, codes_arr)
    names = np.array([reg_idx.at[c, "name"] if k else None for c, k in zip(codes_arr, known)], dtype=object)
    name_src = next((c for c in ("name", "ten", "NAME") if c in gdf.columns), None)
    if name_src:
        names = np.where(known, names, gdf[name_src].astype(object).to_numpy())
    new = gpd.GeoDataFrame({
        "code": codes_arr.astype(object), "name": names, "province_code": prov,
        "district_code": dist, "known": known.astype(bool),
    }, geometry=gdf.geometry.values, crs=4326)
    return new.sort_values("code").reset_index(drop=True)


def _check_coverage(new, reg, vintage, level, report) -> set:
    """Compare the file's layer with the registry: registry units of the covered provinces with
    no geometry (missing), codes the registry does not know (extra), and a province or district
    layer without Hoàng Sa or Trường Sa. Returns the provinces present in the file: what this
    install replaces in the installed layer."""
    # provinces present in the file: what a re-install replaces (an unknown code with no
    # parent column in the file has no province: missing, NaN once in the frame)
    present = {p for p in new["province_code"] if isinstance(p, str) and p}
    # provinces whose units must all have geometry: the file's, or the country for provinces
    covered = set(reg["code"]) if level == "province" else present
    report.provinces = sorted(present)
    in_cov = reg[reg["province_code"].isin(covered)]
    report.missing_codes = sorted(set(in_cov["code"]) - set(new["code"]))
    if report.missing_codes:
        report.warnings.append(f"{len(report.missing_codes)} registry units of the covered provinces "
                               "have no geometry (see missing)")
    if report.extra_codes:
        report.warnings.append(f"{len(report.extra_codes)} codes are not in the {vintage} registry; "
                               "kept on the map without data (see extra)")
    _check_archipelagos(new, level, report)
    return present


def _merge_installed(new, layer_dir: Path, present: set, report):
    """The layer to install: the file's features, plus the installed features of the provinces
    the file does not cover (see "Merging" in the module's docstring), sorted by code. A layer whose re-install was
    cut short between its two renames is put back first, so that it is merged, not lost."""
    import geopandas as gpd

    _restore_interrupted(layer_dir.parent)
    merged = new
    if (layer_dir / "raw.parquet").exists():
        old = gpd.read_parquet(layer_dir / "raw.parquet")
        old = old[~old["province_code"].isin(present) & ~old["code"].isin(set(new["code"]))]
        if len(old):
            merged = pd.concat([old, new], ignore_index=True)
            merged = gpd.GeoDataFrame(merged, geometry="geometry", crs=4326)
            report.warnings.append(f"merged with {len(old)} installed features of other provinces")
    merged = merged.sort_values("code").reset_index(drop=True)[LAYER_COLUMNS]
    merged["known"] = merged["known"].astype(bool)
    return merged


def _web_layers(merged, level: str, report) -> dict:
    """The layers to store: "raw" (the merged layer as it is) and the web layers "high" and "low",
    simplified from the cleaned coverage of the whole merged layer (so that edges shared across
    installs stay shared)."""
    raw_geoms = _clean_coverage(np.asarray(merged.geometry.values, dtype=object), report)
    layers = {"raw": merged}
    for detail in DETAILS:
        layers[detail] = merged.set_geometry(list(_simplify(raw_geoms, level, detail)), crs=4326)
        layers[detail] = layers[detail][layers[detail].geometry.notna()]
    return layers


def _measure(layers: dict, new, report) -> None:
    """GeoJSON bytes and vertices of the file's features, raw and in each web layer, and the
    number of features the installed layer will hold."""
    merged = layers["raw"]
    mine = merged["code"].isin(set(new["code"])).to_numpy()
    report.bytes_raw = _geojson_bytes(merged[mine], None)
    report.vertices_raw = _vertices(merged.geometry[mine])
    for detail, dec in (("high", 5), ("low", 4)):
        sub = layers[detail][layers[detail]["code"].isin(set(new["code"]))]
        setattr(report, f"bytes_web_{detail}", _geojson_bytes(sub, dec))
        setattr(report, f"vertices_web_{detail}", _vertices(sub.geometry))
    report.layer_features = len(merged)


def _layer_meta(merged, layer_dir: Path, path: Path, level: str, report) -> dict:
    """``meta.json`` of the installed layer: what it holds, how it was simplified, and every file
    installed into it (the earlier ones from the installed ``meta.json``)."""
    return {
        "vintage": report.vintage, "level": level,
        "provinces": sorted({p for p in merged["province_code"] if isinstance(p, str) and p}),
        "features": len(merged), "known": int(merged["known"].sum()),
        "tolerances": TOLERANCES[level], "grid": GRID,
        "sources": _old_sources(layer_dir) + [{"file": path.name, "provinces": report.provinces,
                                               "installed": time.strftime("%Y-%m-%dT%H:%M:%S")}],
    }


def _check_archipelagos(layer, level, report):
    """A national map must show Hoàng Sa and Trường Sa; warn when a layer that covers
    their provinces lacks any geometry there."""
    from shapely.geometry import box

    if level not in ("province", "district"):
        return
    for name, bb in ARCHIPELAGOS.items():
        prov = ARCHIPELAGO_PROVINCE[name]
        if prov not in set(layer["province_code"]):
            if level == "province":
                report.warnings.append(f"the layer lacks province {prov}, which holds {name}")
            continue
        if not layer.geometry.intersects(box(*bb)).any():
            report.warnings.append(
                f"the layer has no geometry for {name} (expected within {bb}); a national map of "
                "Vietnam must include it")


def _old_sources(layer_dir: Path) -> list:
    try:
        return json.loads((layer_dir / "meta.json").read_text(encoding="utf-8")).get("sources", [])
    except (OSError, ValueError):
        return []


def _write_atomic(layer_dir: Path, layers: dict, meta: dict) -> None:
    """Write the layer's files (``<name>.parquet`` per layer, ``meta.json`` last) to a new folder
    beside ``layer_dir`` and swap it in (``atomic.py``): readers see the old layer or the new one,
    and a re-install cut short between the two renames is put back by the next listing or install.
    Installed layers are published data, read by the account that serves the app: folders 0755
    and files 0644 whatever the umask."""
    made = [p for p in (layer_dir.parent.parent, layer_dir.parent) if not p.exists()]
    layer_dir.parent.mkdir(parents=True, exist_ok=True)
    for p in made:
        os.chmod(p, DIR_MODE)
    tmp = new_tmp_dir(layer_dir)
    try:
        for name, gdf in layers.items():
            gdf.to_parquet(tmp / f"{name}.parquet", index=False, compression="zstd")
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        atomic_replace_dir(tmp, layer_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _restore_interrupted(vintage_dir: Path) -> None:
    """Put back the layers of ``vintage_dir`` whose re-install died between its two renames, then
    clear what killed installs left behind. Installs take no lock, so a layer moved aside is put
    back whenever its place is empty."""
    restore_interrupted(vintage_dir, "meta.json", valid=LEVELS.__contains__, lock=False)
    remove_leftovers(vintage_dir)


def remove_leftovers(vintage_dir: Path, *, older_than: float = LEFTOVER_AGE) -> list[str]:
    """Remove the folders killed installs left in ``vintage_dir``: a half-written layer
    (``.tmp-<level>-*``) once it is ``older_than`` seconds old, since installs take no lock and
    a running install may still be writing a young one; a layer moved aside (``.old-<level>-*``)
    once its level is in place again. Returns the names removed; errors (an account that may
    only read) are ignored."""
    removed = []
    try:
        entries = [p for p in Path(vintage_dir).iterdir() if p.name.startswith((TMP_PREFIX, OLD_PREFIX))]
    except OSError:
        return removed
    now = time.time()
    for path in entries:
        level = leftover_name(path.name)
        if level not in LEVELS:
            continue
        if path.name.startswith(OLD_PREFIX):
            if not (path.parent / level / "meta.json").exists():
                continue  # the only copy of its layer: restore_interrupted puts it back
        else:
            try:
                if now - path.lstat().st_mtime < older_than:
                    continue
            except OSError:
                continue
        try:
            shutil.rmtree(path)
            removed.append(path.name)
        except OSError:
            pass
    return removed


# ---------------------------------------------------------------------------
# Reading installed layers
# ---------------------------------------------------------------------------

def installed_layers(root: Path | None = None) -> list[dict]:
    """Installed layers: dicts with vintage, level, provinces, features (and path)."""
    root = Path(root) if root is not None else data_dir()
    out = []
    for vintage in VINTAGES:
        _restore_interrupted(root / vintage)
        for level in LEVELS:
            d = _layer_dir(root, vintage, level)
            try:
                meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            out.append({"vintage": vintage, "level": level, "provinces": meta.get("provinces", []),
                        "features": meta.get("features", 0), "path": str(d)})
    return out


def _stamp(root: Path, vintage: str, level: str):
    try:
        return (root / vintage / level / "meta.json").stat().st_mtime_ns
    except OSError:
        return None


def _read_parquet_fast(path: Path):
    """Read a layer written by install: pyarrow + WKB decoding, much faster than
    geopandas.read_parquet (which parses the CRS of the GeoParquet metadata; ours is
    always EPSG:4326)."""
    import geopandas as gpd
    import pyarrow.parquet as pq
    import shapely

    df = pq.read_table(path).to_pandas()
    geoms = shapely.from_wkb(df["geometry"].to_numpy())
    return gpd.GeoDataFrame(df.drop(columns="geometry"), geometry=geoms, crs=_wgs84())


@lru_cache(maxsize=1)
def _wgs84():
    from pyproj import CRS

    return CRS.from_epsg(4326)


@lru_cache(maxsize=32)
def _read_layer(root: str, vintage: str, level: str, detail: str, stamp):
    gdf = _read_parquet_fast(Path(root) / vintage / level / f"{detail}.parquet")
    groups = {}
    for col in ("province_code", "district_code"):
        groups[col] = {k: np.asarray(v) for k, v in gdf.groupby(col, sort=False).indices.items()}
    return gdf, groups


@lru_cache(maxsize=256)
def _subset(root: str, vintage: str, level: str, detail: str, parent: str | None, stamp):
    gdf, groups = _read_layer(root, vintage, level, detail, stamp)
    if parent is None or parent == "VN":
        sub = gdf
    else:
        col = "province_code" if len(parent) == 2 else "district_code"
        idx = groups[col].get(parent)
        if idx is None:
            return None
        sub = gdf.iloc[np.sort(idx)]
        if col == "district_code" and level == "district":
            return None  # a district has no district children
    return sub.reset_index(drop=True)


def _check_args(vintage, level, detail):
    if str(vintage) not in VINTAGES:
        raise ValueError(f"unknown vintage {vintage!r}")
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    if detail not in DETAILS:
        raise ValueError(f"detail must be one of {DETAILS}, not {detail!r}")


def load_layer(vintage: str, level: str, parent_code: str | None = None, detail: str = "low"):
    """The installed web layer as a GeoDataFrame (EPSG:4326), or None.

    ``parent_code``: a province code gives that province's districts or
    communes, a district code its communes, None (or "VN") everything.
    Columns: code, name, province_code, district_code, known, geometry.
    Cached (invalidated when the layer is re-installed); the frame is shared,
    do not mutate it.
    """
    _check_args(vintage, level, detail)
    root = data_dir()
    stamp = _stamp(root, str(vintage), level)
    if stamp is None:
        return None
    return _subset(str(root), str(vintage), level, detail, None if parent_code is None else str(parent_code),
                   stamp)


@lru_cache(maxsize=256)
def _geojson_cached(root, vintage, level, detail, parent, stamp):
    sub = _subset(root, vintage, level, detail, parent, stamp)
    if sub is None:
        return None
    return _feature_collection(sub, 5 if detail == "high" else 4)


def layer_geojson(vintage: str, level: str, parent_code: str | None = None, detail: str = "low") -> dict | None:
    """The layer of :func:`load_layer` as a GeoJSON FeatureCollection dict.

    Each feature has ``id`` = code and ``properties`` code, name,
    province_code, district_code; coordinates rounded to 5 decimals ("high")
    or 4 ("low"). Cached; do not mutate the dict.
    """
    _check_args(vintage, level, detail)
    root = data_dir()
    stamp = _stamp(root, str(vintage), level)
    if stamp is None:
        return None
    return _geojson_cached(str(root), str(vintage), level, detail,
                           None if parent_code is None else str(parent_code), stamp)


def _clear_caches():
    _read_layer.cache_clear()
    _subset.cache_clear()
    _geojson_cached.cache_clear()


def overlap_area(gdf) -> tuple[float, float]:
    """(total area of pairwise overlaps between features, total area), in square degrees.

    Used to check that simplification kept shared edges: neighbours may touch
    but should not overlap beyond rounding noise.
    """
    import shapely

    geoms = np.asarray(gdf.geometry.values, dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    inter = shapely.intersection(geoms[left], geoms[right])
    return float(shapely.area(inter).sum()), float(shapely.area(geoms).sum())
