"""What a release offers (years, units with data, levels, services, indicators): the Offer
that view states are validated against. Reads the release; no Streamlit."""
from __future__ import annotations

from .state import COUNTRY, Offer, UnitRef, vintage_of


def build_offer(release, release_ids=(), boundaries=frozenset()) -> Offer:
    units = release.units()
    cells = release.read(indicator="sipas", service=None, breakdown="all", source=None,
                         columns=["year", "level", "unit_code", "parent_code", "service"])
    offer_units, levels, services, indicators = {}, {}, {}, {}
    for year in release.years:
        y = cells[cells["year"] == year]
        names = units[units["vintage"] == vintage_of(year)].set_index("code")
        refs = {COUNTRY: UnitRef(COUNTRY, "country", None, "Toàn quốc")}
        for row in y[y["service"] == "all"].drop_duplicates("unit_code").itertuples(index=False):
            if row.level == "country":
                continue
            nm = names["name"].get(row.unit_code, row.unit_code) if len(names) else row.unit_code
            prov = names["province_code"].get(row.unit_code) if "province_code" in names else None
            parent = row.parent_code if isinstance(row.parent_code, str) and row.parent_code else COUNTRY
            refs[row.unit_code] = UnitRef(row.unit_code, row.level, parent, str(nm), prov)
        offer_units[year] = refs
        levels[year] = [lv for lv in ("province", "district", "commune") if (y["level"] == lv).any()]
        services[year] = ["all", *sorted(set(y["service"]) - {"all"})]
        top = levels[year][0] if levels[year] else None
        ind = release.read(year=year, level=top, service="all", indicator=None, columns=["indicator"])
        indicators[year] = ["sipas", *sorted(set(ind["indicator"]) - {"sipas"})]
    return Offer(release_ids=list(release_ids) or [release.id], release=release.id, years=list(release.years),
                 units=offer_units, levels=levels, services=services, indicators=indicators,
                 boundaries=set(boundaries))
