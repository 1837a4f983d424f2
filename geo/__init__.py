"""Geography for the SIPAS dashboard: unit registry, boundaries and tile maps.

Never imports Streamlit. The modules: ``geo.registry`` (the units of each vintage, the
crosswalk, name search; its public functions are re-exported here, so ``geo.units(vintage)``
is the registry's table), ``geo.boundaries`` and ``geo.tiles``.
"""

from .registry import (
    VINTAGES,
    children,
    crosswalk,
    split_communes,
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
    "split_communes",
    "unit",
    "units",
    "vintage_for_year",
]
