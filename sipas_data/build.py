"""From accepted forms and official figures to a written release."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from .engine import INDEX_SCHEMA, compute_indices
from .methodology import get_methodology
from .release import write_release

REFORM_YEAR = 2025  # first survey year on the post-reform units


def restate_on_2025_units(forms: pd.DataFrame | pa.Table, con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Forms of years before the 2025 reform, re-addressed to today's units through the official
    crosswalk: each commune to the commune it joined, each province to its merged province; the
    district level disappears. District-level services count toward the new province only."""
    from geo.units import crosswalk

    cw = crosswalk()
    con.register("cw", cw[["old_commune_code", "new_commune_code"]])
    con.register("pw", cw[["old_province_code", "new_province_code"]].drop_duplicates("old_province_code"))
    con.register("forms_old", forms)
    return con.sql(f"""
        SELECT f.* REPLACE (pw.new_province_code AS province_code, NULL::VARCHAR AS district_code,
                            cw.new_commune_code AS commune_code)
        FROM forms_old f
        LEFT JOIN cw ON cw.old_commune_code = f.commune_code
        LEFT JOIN pw ON pw.old_province_code = f.province_code
        WHERE f.year < {REFORM_YEAR} AND pw.new_province_code IS NOT NULL
    """).to_arrow_table()


def units_table(indices: pa.Table) -> pd.DataFrame:
    """The units a release names, with names and parents, from the registry of each vintage."""
    from geo.units import units as registry

    con = duckdb.connect()
    con.register("ix", indices)
    used = con.sql("""
        SELECT DISTINCT CASE WHEN year >= 2025 OR basis = 'restated' THEN '2025' ELSE '2019' END AS vintage,
               level, unit_code AS code
        FROM ix WHERE level <> 'country'""").df()
    frames = []
    for vintage, part in used.groupby("vintage"):
        reg = registry(vintage)
        cols = ["code", "level", "type", "name", "short_name", "search_key", "parent_code",
                "province_code", "district_code", "lat", "lon"]
        frames.append(part.merge(reg[cols], on=["code", "level"], how="left").assign(vintage=vintage))
    country = pd.DataFrame([{"vintage": v, "level": "country", "code": "VN", "type": "Quốc gia",
                             "name": "Việt Nam", "short_name": "Việt Nam", "search_key": "viet nam"}
                            for v in ("2019", "2025")])
    out = pd.concat([*frames, country], ignore_index=True)
    return out.sort_values(["vintage", "level", "code"]).reset_index(drop=True)


def combine(parts: list[pa.Table]) -> pa.Table:
    """Union of index tables, ranked again where needed and sorted for filtered reads."""
    con = duckdb.connect()
    tables = [p for p in parts if p.num_rows]
    if not tables:
        return INDEX_SCHEMA.empty_table()
    for i, t in enumerate(tables):
        con.register(f"p{i}", t.cast(INDEX_SCHEMA))
    union = " UNION ALL ".join(f"SELECT * FROM p{i}" for i in range(len(tables)))
    # Official rows arrive unranked; rank them among their own official siblings.
    return con.sql(f"""
        SELECT * REPLACE (
            CASE WHEN source = 'official' AND value IS NOT NULL AND level <> 'country' THEN
                rank() OVER (PARTITION BY year, level, parent_code, indicator, source, basis
                             ORDER BY round(value, 9) DESC)::INTEGER
                 ELSE rank END AS rank)
        FROM ({union})
        ORDER BY year, level, parent_code, service, indicator, breakdown, "group", basis, source, unit_code
    """).to_arrow_table().cast(INDEX_SCHEMA)


def build_release(forms: pd.DataFrame, out: str | Path, *, official: list[pd.DataFrame] = (),
                  title: str, publisher: str, inputs: list[dict], counts: dict,
                  demo: bool = False, threshold: int | None = None, restate: bool = True,
                  created: str | None = None, _fail_after_files: bool = False) -> Path:
    con = duckdb.connect()
    computed = compute_indices(forms, threshold=threshold, con=con)
    parts = [computed]
    if restate and len(forms) and int(forms["year"].min()) < REFORM_YEAR:
        restated = restate_on_2025_units(forms, con)
        parts.append(_with_basis(compute_indices(restated, threshold=threshold, levels=("province", "commune"),
                                                 breakdowns=(), con=duckdb.connect()), "restated"))
    for frame in official:
        if len(frame):
            parts.append(pa.Table.from_pandas(frame, schema=INDEX_SCHEMA, preserve_index=False))
    indices = combine(parts)
    schemes = sorted(set(indices.column("scheme").to_pylist()))
    return write_release(out, indices, units_table(indices),
                         methodologies=[get_methodology(s) for s in schemes], title=title,
                         publisher=publisher, inputs=inputs, counts=counts, demo=demo,
                         threshold=threshold, created=created, _fail_after_files=_fail_after_files)


def _with_basis(table: pa.Table, basis: str) -> pa.Table:
    i = table.schema.get_field_index("basis")
    return table.set_column(i, "basis", pa.array([basis] * table.num_rows, pa.string()))
