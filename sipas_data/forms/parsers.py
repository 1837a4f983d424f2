"""Stage *parsers*: a cell's text to a value, or the message saying what was expected.

Each parser takes the stripped-or-not text of one cell and returns ``(value, None)`` or
``(None, message)``; the rules run it once per distinct text of a column
(:meth:`sipas_data.forms.cells.Cells.parse`), so a million forms cost as many calls as they have
distinct answers.
"""
from __future__ import annotations

import datetime as _dt
import re

import numpy as np

from .headers import norm

NO_ANSWER = {"0", "ktl", "khong tra loi", "k tra loi", "khong y kien", "n a"}
_BLANK = {"", "-"}
_MULTI = re.compile(r"^\d+(?:\s*[,;/+ ]\s*\d+)+$")
_PARTS = re.compile(r"\s*[,;/+ ]\s*")
_INT_LIKE = re.compile(r"^[+-]?\d+(?:\.0+)?$")


def scale_parser(col: str, valid: tuple[int, ...], labels: dict[str, int] | None = None,
                  hint: str = ""):
    lo, hi = min(valid), max(valid)
    what = "answer scale" if not hint else "scale"

    def parse(s: str):
        s = s.strip()
        n = norm(s)
        if s in _BLANK or n in NO_ANSWER:
            return None, None
        # several boxes ticked ("4,5", "4;5") only when every part is on the scale: "4,0" is a
        # decimal comma (four), read as a number below
        if _MULTI.match(s) and all(int(p) in valid for p in _PARTS.split(s)):
            return None, None
        if labels and n in labels:
            return labels[n], None
        try:
            f = float(s.replace(",", "."))
        except ValueError:
            return None, (f"{col}: '{s}' is not an answer (expected {lo}–{hi}{hint}; empty, 0 or "
                          "'không trả lời' for no answer)")
        if f.is_integer() and int(f) in valid:
            return int(f), None
        if f == 0:
            return None, None
        return None, f"{col}: {s} is outside the {what} {lo}–{hi}{hint}"
    return parse


_TICKED = {"1", "x", "v", "co", "yes", "true", "dung"}
_UNTICKED = {"0", "khong", "no", "false"}


def tick_parser(col: str):
    def parse(s: str):
        n = norm(s)
        if (s.strip() in ("✓", "✔", "☑", "√") or n in _TICKED
                or (s.strip() and _INT_LIKE.match(s.strip()) and float(s) == 1)):
            return 1, None
        if s.strip() in _BLANK:
            return None, None
        if n in _UNTICKED:
            return 0, None
        return None, f"{col}: '{s.strip()}' is not a tick (expected 1, x or có for ticked; 0 or empty for not)"
    return parse


def option_parser(col: str, tokens: dict[str, object], expected: str, no_answer=()):
    def parse(s: str):
        n = norm(s)
        if s.strip() in _BLANK or n in no_answer:
            return None, None
        key = n
        if _INT_LIKE.match(s.strip()):
            key = str(int(float(s.strip())))
        if key in tokens:
            return tokens[key], None
        return None, f"{col}: '{s.strip()}' is not an accepted value (expected one of {expected})"
    return parse


def code_parser(col: str, width: int):
    def parse(s: str):
        s = s.strip()
        if not s:
            return "", None
        if re.fullmatch(r"\d+\.0+", s):
            s = s.split(".")[0]
        if s.isdigit() and len(s) <= width:
            return s.zfill(width), None
        return None, f"{col}: '{s}' is not a {width}-digit code"
    return parse


def parse_date(s: str):
    s = s.strip()
    if not s:
        return None, None
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y", "%d-%m-%Y",
                "%d.%m.%Y", "%Y/%m/%d"):
        try:
            return _dt.datetime.strptime(s, fmt).date().isoformat(), None
        except ValueError:
            continue
    return None, f"collected_on: '{s}' is not a date (expected dd/mm/yyyy or yyyy-mm-dd)"


# Plausible weights. A survey weight is a design or post-stratification factor (normalised to
# about 1, or residents per form): within one survey file the weights differ by far less than a
# factor of 1000. A weight more than MAX_WEIGHT_RATIO times the file's median weight, or less than
# the median divided by it, would alone outweigh (or vanish beside) every other form: it is a
# typing or unit mistake (1e15 for 1.5). The absolute bounds keep the engine's weighted sums and
# sums of squares finite and non-zero even when every weight of a file is absurd alike (all 1e200,
# ratio 1); a weight of 1e308 once passed and overflowed the ranking.
MIN_WEIGHT = 1e-6
MAX_WEIGHT = 1e6
MAX_WEIGHT_RATIO = 1000


def parse_weight(s: str):
    s = s.strip()
    if not s:
        return 1.0, None
    try:
        f = float(s.replace(",", "."))
    except ValueError:
        f = float("nan")
    if not np.isfinite(f) or f <= 0:
        return None, f"weight: '{s}' is not a number greater than 0 (leave empty for 1)"
    if not MIN_WEIGHT <= f <= MAX_WEIGHT:
        return None, (f"weight: {s} is not a plausible weight (expected a number from {MIN_WEIGHT:g} "
                      f"to {MAX_WEIGHT:g}; leave empty for 1)")
    return f, None


def weight_outliers(text, w: np.ndarray):
    """Rows whose weight is more than a factor MAX_WEIGHT_RATIO away from the file's median
    weight, and their messages (None, None when there are none); ``text``: the weights as typed
    (:class:`~sipas_data.forms.cells.Cells` or one per row)."""
    valid = np.isfinite(w)
    if not valid.any():
        return None, None
    median = float(np.median(w[valid]))
    lo, hi = median / MAX_WEIGHT_RATIO, median * MAX_WEIGHT_RATIO
    with np.errstate(invalid="ignore"):
        mask = valid & ((w < lo) | (w > hi))
    if not mask.any():
        return None, None
    msg = np.full(len(w), None, dtype=object)
    msg[mask] = [f"weight: {t} is {'more than ' if x > hi else 'less than 1/'}{MAX_WEIGHT_RATIO} "
                 f"{'times ' if x > hi else 'of '}the median weight of the file ({median:g}); "
                 f"expected a weight from {lo:g} to {hi:g}"
                 for t, x in zip(text.rows(mask) if hasattr(text, "rows") else text[mask], w[mask])]
    return mask, msg


LEVEL_TOKENS = {"district": "district", "huyen": "district", "cap huyen": "district",
                 "quan": "district", "quan huyen": "district", "thi xa": "district",
                 "commune": "commune", "xa": "commune", "cap xa": "commune", "phuong": "commune",
                 "xa phuong": "commune", "thi tran": "commune"}
