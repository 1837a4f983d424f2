"""Shaping release frames into what a view shows (pure pandas, no Streamlit).

Every function takes frames read from the release and returns frames ready for a figure or a
table; numbers are not rounded here (formatting happens at display time).
"""
from __future__ import annotations

import math

import pandas as pd

from . import fmt, memo
from .state import COUNTRY, Offer
from .strings import t


def unit_name(offer: Offer, year: int, code: str, lang: str = "vi") -> str:
    if code == COUNTRY:
        return t("nationwide", lang)
    ref = offer.unit(year, code)
    return ref.name if ref else code


def sibling_totals(cells: pd.DataFrame) -> pd.Series:
    """Number of ranked siblings per parent (for 'rank r of N')."""
    ranked = cells[~cells["suppressed"].astype(bool)]
    return ranked.groupby("parent_code")["unit_code"].nunique()


@memo.frames()
def map_cells(cells: pd.DataFrame, codes: list[str], names: dict[str, str]) -> pd.DataFrame:
    """One row per drawn unit (``codes``), with the indicator's cell when the release has one."""
    base = pd.DataFrame({"code": list(codes)})
    base["name"] = base["code"].map(names).fillna(base["code"])
    c = cells.rename(columns={"unit_code": "code"})
    keep = ["code", "parent_code", "value", "n", "ci_low", "ci_high", "suppressed", "rank"]
    c = c[[k for k in keep if k in c]].drop_duplicates("code")
    out = base.merge(c, on="code", how="left")
    # a cell of the release, published or withheld (a withheld cell has no value and no n)
    out["has_data"] = out["suppressed"].notna() | out["n"].notna() | out["value"].notna()
    out["suppressed"] = out["suppressed"].astype("boolean").fillna(False).astype(bool)
    totals = sibling_totals(cells) if len(cells) else pd.Series(dtype=float)
    out["total"] = out["parent_code"].map(totals) if "parent_code" in out else math.nan
    return out


@memo.frames()
def table_twin(cells: pd.DataFrame, lang: str, threshold: int) -> pd.DataFrame:
    """The map's table: only units with data, best first, formatted for people."""
    d = cells[cells["has_data"]].copy()
    d = d.sort_values(["suppressed", "value"], ascending=[True, False], na_position="last")
    return pd.DataFrame({
        t("unit", lang): d["name"],
        t("code", lang): d["code"],
        t("value", lang): [fmt.num(v, lang) if not s else t("suppressed_class", lang)
                           for v, s in zip(d["value"], d["suppressed"])],
        t("interval", lang): [fmt.interval(lo, hi, lang) for lo, hi in zip(d["ci_low"], d["ci_high"])],
        t("n", lang): [fmt.count(n, lang) for n in d["n"]],
        t("rank", lang): [t("rank_of", lang, rank=fmt.count(r, lang), total=fmt.count(tot, lang))
                          if not _nan(r) else "–" for r, tot in zip(d["rank"], d["total"])],
    })


@memo.frames()
def export_frame(cells: pd.DataFrame, meta: dict) -> pd.DataFrame:
    """The view's data at full precision, for CSV/XLSX, with the view's filters as columns."""
    d = cells[cells["has_data"]].copy() if "has_data" in cells else cells.copy()
    cols = [c for c in ("code", "name", "value", "ci_low", "ci_high", "n", "rank", "total", "suppressed") if c in d]
    d = d[cols]
    for k, v in reversed(list(meta.items())):
        d.insert(0, k, v)
    return d.reset_index(drop=True)


def _nan(x) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def change_text(cur, prev, lang: str) -> str:
    if _nan(cur) or _nan(prev):
        return ""
    d = float(cur) - float(prev)
    if round(d, 2) == 0:
        return t("ov_change_same", lang)
    return t("ov_change_up" if d > 0 else "ov_change_down", lang, x=fmt.num(abs(d), lang))


def element_indicators(frame: pd.DataFrame, prefix: str = "element:") -> pd.DataFrame:
    return frame[frame["indicator"].str.startswith(prefix)]


def label_frame(frame: pd.DataFrame, methodology, lang: str) -> pd.DataFrame:
    d = frame.copy()
    d["label"] = [_label(methodology, i, lang) for i in d["indicator"]]
    return d


def _label(methodology, indicator: str, lang: str) -> str:
    try:
        return methodology.label_of(indicator, lang)
    except (KeyError, StopIteration):
        return indicator


def order_like(frame: pd.DataFrame, methodology, kind: str = "element") -> pd.DataFrame:
    """Sort element/item rows in the definition's order."""
    if kind == "element":
        order = [f"element:{e.id}" for e in methodology.elements]
    elif kind == "aspect":
        order = [f"aspect:{a.id}" for a in methodology.aspects]
    else:
        order = [f"item:{i.id}" for i in methodology.items()]
    pos = {k: i for i, k in enumerate(order)}
    return frame.assign(_o=frame["indicator"].map(pos).fillna(999)).sort_values("_o").drop(columns="_o")
