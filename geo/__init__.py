"""Geography for the SIPAS dashboard: unit registry, boundaries and tile maps.

Never imports Streamlit. See ``geo.units``, ``geo.boundaries`` and ``geo.tiles``.

``geo.units`` is shadowed by the re-exported function ``units``; import the
module's other names with ``from geo.units import ...``.
"""

from .units import (
    VINTAGES,
    children,
    crosswalk,
    levels_for_year,
    normalise_name,
    search,
    unit,
    units,
    vintage_for_year,
)

__all__ = [
    "VINTAGES",
    "children",
    "crosswalk",
    "levels_for_year",
    "normalise_name",
    "search",
    "unit",
    "units",
    "vintage_for_year",
]
