"""Geography for the SIPAS dashboard: unit registry, boundaries and tile maps.

Never imports Streamlit. The modules: ``geo.registry`` (the units of each vintage, the
crosswalks, name search; its public functions are re-exported here, so ``geo.units(vintage)``
is the registry's table), ``geo.boundaries`` and ``geo.tiles``. Each vintage's units come from
where the calendar (``sipas_data/calendar.toml``) says: the vietnamadminunits package, or a data
file of changes on the vintage before (``geo/registry.py`` gives its format).
"""

from .registry import (
    VINTAGES,
    RegistryDataError,
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
    "RegistryDataError",
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
