"""Numbers and dates for people, through Babel (Vietnamese: decimal comma)."""
from __future__ import annotations

import html
import math
import re
from functools import lru_cache

from babel.numbers import format_decimal as _babel_format_decimal

LOCALES = {"vi": "vi_VN", "en": "en_US"}


@lru_cache(maxsize=1 << 16, typed=True)
def format_decimal(number, format: str, locale: str) -> str:  # noqa: A002 - Babel's own names
    """Babel's format_decimal, remembered: a page formats the same few thousand numbers on every
    rerun, and Babel takes about 0.1 ms for each."""
    return _babel_format_decimal(number, format=format, locale=locale)


def _missing(x) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def num(x, lang: str = "vi", digits: int = 2) -> str:
    """82.6634 -> '82,66' (vi) or '82.66' (en); missing -> '–'."""
    if _missing(x):
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(float(x), format=pattern, locale=LOCALES.get(lang, "vi_VN"))


def pct(x, lang: str = "vi", digits: int = 2) -> str:
    return "–" if _missing(x) else num(x, lang, digits) + "%"


def count(n, lang: str = "vi") -> str:
    """Whole numbers with the locale's grouping (vi: 1.234; en: 1,234)."""
    if _missing(n):
        return "–"
    return format_decimal(int(round(float(n))), format="#,##0", locale=LOCALES.get(lang, "vi_VN"))


def signed(x, lang: str = "vi", digits: int = 2) -> str:
    """A change in points with its sign: '+2,58' / '−1,20'."""
    if _missing(x):
        return "–"
    s = num(abs(float(x)), lang, digits)
    if round(float(x), digits) == 0:
        return s
    return ("+" if x > 0 else "−") + s


def interval(lo, hi, lang: str = "vi", digits: int = 2) -> str:
    if _missing(lo) or _missing(hi):
        return "–"
    return f"{num(lo, lang, digits)}–{num(hi, lang, digits)}"


def date(iso: str) -> str:
    """The date part of an ISO timestamp ('2026-11-23T09:30:10+00:00' -> '2026-11-23')."""
    return str(iso or "")[:10]


def esc(text) -> str:
    """Escape text for plotly labels/hover (plotly renders a few HTML tags)."""
    return html.escape("" if text is None else str(text), quote=True)


_MD_SPECIAL = "\\`*_{}[]()<>#+-.!|~:$&"


# Markdown still makes links and icons of escaped text: GFM's autolink literals (http://, www.,
# e-mail addresses) and Streamlit's :material/…: icons are found in the text after the escapes are
# resolved. A word joiner (U+2060: invisible, not read out) after each ":" and "@" and before the
# "." of "www." breaks those patterns.
_WORD_JOINER = "\u2060"
_WWW = re.compile(r"(?i)(www)\.")


def md(text) -> str:
    """Escape a data value for Streamlit markdown (no links, icons, emphasis, HTML or entities from
    data). Line breaks, tabs and other control characters become spaces, so a value cannot start
    a new block (heading, list, code block) either."""
    out = []
    text = "" if text is None else str(text)
    text = _WWW.sub(r"\1" + _WORD_JOINER + ".", text)
    for c in text:
        if c in ":@":
            out.append(("\\" if c == ":" else "") + c + _WORD_JOINER)
        elif c in _MD_SPECIAL:
            out.append("\\" + c)
        elif ord(c) < 32 or 0x7f <= ord(c) < 0xa0 or c in "\u2028\u2029":
            out.append(" ")
        else:
            out.append(c)
    return "".join(out)
