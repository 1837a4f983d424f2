"""Text alternatives for charts (Streamlit-free): a one-line description and a table twin built
from the figure itself, so every chart can be read without seeing it (screen readers, colour
vision, keyboard users) and the table always matches what is drawn."""
from __future__ import annotations

import html
import math
import re

import pandas as pd

from . import fmt
from .strings import t

_TAG = re.compile(r"<[^>]+>")


def _plain(text) -> str:
    """Figure text (escaped for plotly, with <b>/<br>) back to plain text."""
    return html.unescape(_TAG.sub(" ", str(text or ""))).replace("  ", " ").strip()


def alt_text(fig, lang: str = "vi") -> str:
    """'Chart: <title> · <subtitle>.' from the frame that frame_figure recorded (or the title)."""
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    frame = meta.get("frame") or {}
    title = frame.get("title") or _plain(fig.layout.title.text)
    sub = frame.get("subtitle") or ""
    return t("chart_alt", lang, title=" · ".join(x for x in (title, sub) if x))


def _num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def figure_table(fig, lang: str = "vi") -> pd.DataFrame:
    """One row per drawn value: series, category, value (as in the figure's data)."""
    rows = []
    for tr in fig.data:
        name = _plain(getattr(tr, "name", "") or "")
        kind = tr.type
        if kind == "heatmap":
            z = tr.z if tr.z is not None else []
            for i, ylab in enumerate(tr.y if tr.y is not None else range(len(z))):
                for j, xlab in enumerate(tr.x if tr.x is not None else range(len(z[i]))):
                    rows.append((_plain(ylab), _plain(xlab), _num(z[i][j])))
        elif kind in ("choroplethmap", "choropleth", "choroplethmapbox"):
            cd = tr.customdata if tr.customdata is not None else []
            for k, code in enumerate(tr.locations if tr.locations is not None else []):
                label = _plain(cd[k][0]) if len(cd) > k else str(code)
                shown = _plain(cd[k][1]) if len(cd) > k else ""
                if label or shown:
                    rows.append((name, f"{label} ({code})", shown))
        elif kind in ("bar", "scatter"):
            horizontal = getattr(tr, "orientation", None) == "h"
            cats = tr.y if horizontal else tr.x
            vals = tr.x if horizontal else tr.y
            if cats is None or vals is None:
                continue
            for c, v in zip(cats, vals):
                rows.append((name, _plain(c), _num(v)))
    cols = [t("chart_series", lang), t("chart_category", lang), t("value", lang)]
    rows = [(a, b, fmt.num(v, lang) if isinstance(v, float) else (v if v is not None else "–")) for a, b, v in rows]
    out = pd.DataFrame(rows, columns=cols)
    if out[cols[0]].eq("").all():
        out = out.drop(columns=cols[0])
    return out
