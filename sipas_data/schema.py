"""Data contracts shared by import, engine and release (see DESIGN.md, "Data contracts").

The *responses* frame is what import hands to the engine: one row per accepted form, canonical
column names, codes as zero-padded strings, answers as small nullable integers where null means
"no valid answer" (empty, 0, "không trả lời", several boxes ticked).
"""
from __future__ import annotations

from .contracts import INDICES, RESPONSES_BASE
from .scheme import Scheme

#: Columns every responses frame has, in this order, before the answer columns
#: (declared with their types in :data:`sipas_data.contracts.RESPONSES_BASE`).
BASE_COLUMNS = RESPONSES_BASE.names
# `scheme` may be blank on import: it is then the scheme in force for the year.
REQUIRED_COLUMNS = ("form_id", "year", "province_code", "service")
CODE_WIDTH = {"province_code": 2, "district_code": 3, "commune_code": 5}
AGENCY_LEVELS = ("district", "commune")

#: Levels of the published table, top down.
LEVELS = ("country", "province", "district", "commune")
COUNTRY_CODE = "VN"

#: Columns of the published indices table, in order (declared in :data:`sipas_data.contracts.INDICES`).
INDEX_COLUMNS = INDICES.names


def answer_columns(m: Scheme) -> list[str]:
    """Every answer column a form of scheme ``m`` may carry (items of any year, expectations,
    perception questions)."""
    return [*m.item_ids(), *m.expectation_columns(), *(p.column for p in m.perceptions)]


def response_columns(methodologies: list[Scheme]) -> list[str]:
    """Canonical columns of a responses frame holding forms of these schemes (union, ordered)."""
    out = list(BASE_COLUMNS)
    for m in methodologies:
        out += [c for c in answer_columns(m) if c not in out]
    return out
