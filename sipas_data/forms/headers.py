"""Stage *headers*: which canonical column each header of a file means.

Canonical names (``form_id``, ``access_1`` ...) and the Vietnamese headers a clerk types are
accepted, case-, accent-, space- and punctuation-insensitively (:data:`BASE_ALIASES`); answer
columns follow the rule ``<element label, id or abbreviation> <n>`` (:data:`ELEMENT_ALIASES`).
A header that means nothing here is listed as not used; two headers meaning the same column (also
the same header typed twice) refuse the file, since either could be the one that was meant.
"""
from __future__ import annotations

import re
import unicodedata

from .. import schema
from ..scheme import Scheme, builtin_schemes
from .errors import ImportFileError

#: Columns :func:`sipas_data.importer.write_rejects` adds; ignored so a fixed file reads back.
IGNORED_HEADERS = {"row", "file", "errors"}

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def norm(text) -> str:
    """Unaccented, lower-case, punctuation as single spaces: "Mã  Tỉnh*" -> "ma tinh"."""
    text = unicodedata.normalize("NFD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("đ", "d").replace("Đ", "D").lower()
    return _NON_ALNUM.sub(" ", text).strip()


#: Headers a clerk may type for the base columns (matched after :func:`_norm`).
BASE_ALIASES: dict[str, tuple[str, ...]] = {
    "form_id": ("Mã phiếu", "Số phiếu", "Phiếu số", "Số thứ tự phiếu", "ID phiếu"),
    "year": ("Năm", "Năm khảo sát", "Năm điều tra"),
    "scheme": ("Bộ chỉ số", "Phương pháp", "Bộ tiêu chí"),
    "province_code": ("Mã tỉnh", "Mã tỉnh/thành phố", "Mã tỉnh thành"),
    "district_code": ("Mã huyện", "Mã quận/huyện", "Mã quận huyện"),
    "commune_code": ("Mã xã", "Mã xã/phường", "Mã phường/xã", "Mã xã phường thị trấn"),
    "service": ("Dịch vụ", "Lĩnh vực", "Thủ tục", "Dịch vụ công", "Thủ tục hành chính"),
    "agency_level": ("Cấp giải quyết", "Cấp", "Cấp cơ quan"),
    "gender": ("Giới tính",),
    "age_group": ("Nhóm tuổi", "Độ tuổi", "Tuổi"),
    "education": ("Trình độ học vấn", "Học vấn", "Trình độ"),
    "occupation": ("Nghề nghiệp", "Nghề"),
    "ethnicity": ("Dân tộc",),
    "weight": ("Trọng số",),
    "collected_on": ("Ngày khảo sát", "Ngày thu phiếu", "Ngày điều tra", "Ngày"),
    "channel": ("Kênh", "Hình thức", "Hình thức khảo sát"),
}

#: Short names of elements for item headers "<alias> <n>" (besides element ids and labels).
ELEMENT_ALIASES: dict[str, tuple[str, ...]] = {
    "access": ("Tiếp cận", "TC"),
    "procedures": ("Thủ tục", "TT"),
    "civil_servants": ("Công chức", "CC"),
    "results": ("Kết quả", "KQ"),
    "feedback": ("Góp ý", "Phản ánh", "GY", "PA"),
    "accountability": ("Trách nhiệm giải trình", "TNGT"),
    "participation": ("Tham gia", "Sự tham gia", "TG"),
    "policy_quality": ("Chất lượng chính sách", "CLCS"),
    "policy_impact": ("Tác động chính sách", "Tác động của chính sách", "TĐCS"),
}
EXPECT_PREFIXES = ("Mong đợi", "Kỳ vọng", "Nhu cầu", "expect")
PERCEPTION_PREFIXES = ("Nhận định", "perception")

_NUMBERED = re.compile(r"^(.*?)\s*(\d+)$")


def _schemes() -> list[Scheme]:
    return list(builtin_schemes().values())


def _all_columns() -> list[str]:
    return schema.response_columns(_schemes())


def _header_tables():
    base = {}
    for col in _all_columns():
        base[norm(col)] = col
    for col, aliases in BASE_ALIASES.items():
        for a in aliases:
            base[norm(a)] = col
    elements = {}
    for m in _schemes():
        for el in m.elements:
            elements.setdefault(norm(el.id), el.id)
            elements.setdefault(norm(el.label["vi"]), el.id)
    for el, aliases in ELEMENT_ALIASES.items():
        for a in aliases:
            elements[norm(a)] = el
    perceptions = {}
    for m in _schemes():
        for p in m.perceptions:
            perceptions.setdefault(norm(p.label["vi"]), p.column)
    return base, elements, perceptions


_TABLES = None


def canonical_header(header: str) -> str | None:
    """The canonical column a header means, or None if it means nothing here."""
    global _TABLES
    if _TABLES is None:
        _TABLES = _header_tables()
    base, elements, perceptions = _TABLES
    key = norm(header)
    if not key:
        return None
    if key in base:
        return base[key]
    if key in perceptions:
        return perceptions[key]
    match = _NUMBERED.match(key)
    if not match:
        return None
    prefix, n = match.group(1).strip(), int(match.group(2))
    if prefix in elements:
        col = f"{elements[prefix]}_{n}"
        return col if col in _all_columns() else None
    if prefix in {norm(p) for p in EXPECT_PREFIXES}:
        if any(str(n) in {o.id for o in m.expectation_options}
               or n <= len(m.expectation_options) for m in _schemes()):
            return f"expect_{n}"
        return None
    if prefix in {norm(p) for p in PERCEPTION_PREFIXES}:
        for m in _schemes():
            if 1 <= n <= len(m.perceptions):
                return m.perceptions[n - 1].column
    return None


def map_headers(headers: list[str], name: str) -> tuple[dict[str, int], list[str]]:
    """canonical column -> position of its header, and the headers not used.

    Raises :class:`ImportFileError` for two headers meaning one column and for missing
    required columns."""
    from .xlsx import column_letters

    mapping: dict[str, int] = {}
    unused: list[str] = []
    for i, h in enumerate(headers):
        if norm(h) in IGNORED_HEADERS:
            continue
        col = canonical_header(h)
        if col is None:
            unused.append(h)
        elif col in mapping:
            first = headers[mapping[col]]
            same = (f"the header '{h}' appears twice" if first == h
                    else f"the columns '{first}' and '{h}' both mean '{col}'")
            raise ImportFileError(f"{name}: {same} (columns {column_letters(mapping[col])} and "
                                  f"{column_letters(i)}); keep only one of them")
        else:
            mapping[col] = i
    missing = [c for c in schema.REQUIRED_COLUMNS if c not in mapping]
    if missing:
        raise ImportFileError(
            f"{name}: required columns missing: {', '.join(missing)} (found: {', '.join(headers)})")
    return mapping, unused
