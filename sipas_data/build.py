"""From accepted forms and official figures to a written release."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from .engine import INDEX_SCHEMA, INDEX_TABLE_SQL, compute_into
from .methodology import get_methodology
from .release import write_release

REFORM_YEAR = 2025  # first survey year on the post-reform units
MEMORY_LIMIT = "1500MB"  # DuckDB spills beyond this; the whole build stays within about 2 GB


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


def units_table(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """The units a release names, with names and parents, from the registry of each vintage."""
    from geo.units import units as registry

    used = con.sql(f"""
        SELECT DISTINCT CASE WHEN year >= {REFORM_YEAR} OR basis = 'restated' THEN '2025' ELSE '2019' END AS vintage,
               level, unit_code AS code
        FROM {table} WHERE level <> 'country'""").df()
    frames = []
    cols = ["code", "level", "type", "name", "short_name", "search_key", "parent_code",
            "province_code", "district_code", "lat", "lon"]
    for vintage, part in used.groupby("vintage"):
        frames.append(part.merge(registry(vintage)[cols], on=["code", "level"], how="left").assign(vintage=vintage))
    country = pd.DataFrame([{"vintage": v, "level": "country", "code": "VN", "type": "Quốc gia",
                             "name": "Việt Nam", "short_name": "Việt Nam", "search_key": "viet nam"}
                            for v in ("2019", "2025")])
    out = pd.concat([*frames, country], ignore_index=True)
    return out.sort_values(["vintage", "level", "code"]).reset_index(drop=True)


def add_official(con: duckdb.DuckDBPyConnection, table: str, rows: pd.DataFrame) -> None:
    """Append official rows, values unchanged, ranked among their own official siblings."""
    if not len(rows):
        return
    con.register("official_in", pa.Table.from_pandas(rows, schema=INDEX_SCHEMA, preserve_index=False))
    con.execute(f"""
        INSERT INTO {table}
        SELECT * REPLACE (
            CASE WHEN value IS NOT NULL AND level <> 'country' THEN
                rank() OVER (PARTITION BY year, level, parent_code, indicator, basis
                             ORDER BY round(value, 9) DESC)::INTEGER END AS rank)
        FROM official_in ORDER BY indicator, year, level, parent_code, unit_code""")
    con.unregister("official_in")


def build_release(forms: pd.DataFrame | pa.Table, out: str | Path, *, official: list[pd.DataFrame] = (),
                  title: str, publisher: str, inputs: list[dict], counts: dict,
                  demo: bool = False, threshold: int | None = None, restate: bool = True,
                  created: str | None = None, _fail_after_files: bool = False) -> Path:
    """Compute every cell, add restated and official rows, and write the release atomically.

    The long table stays inside DuckDB, which writes the Parquet itself: no copy of it passes
    through Python, and DuckDB spills to disk rather than exceed its memory limit."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute("SET preserve_insertion_order = true")  # the file keeps the engine's clustering
    if isinstance(forms, pd.DataFrame):
        forms = pa.Table.from_pandas(forms, preserve_index=False)
    compute_into(con, forms, table="ix", threshold=threshold)
    years = forms.column("year").to_numpy() if forms.num_rows else []
    if restate and len(years) and int(min(years)) < REFORM_YEAR:
        restated = restate_on_2025_units(forms, con)
        compute_into(con, restated, table="ix", threshold=threshold, levels=("province", "commune"),
                     breakdowns=(), basis="restated", composites_only=True)
    for frame in official:
        add_official(con, "ix", frame)
    con.execute(f"CREATE TABLE IF NOT EXISTS ix {INDEX_TABLE_SQL}")
    schemes = [r[0] for r in con.execute("SELECT DISTINCT scheme FROM ix ORDER BY 1").fetchall()]
    return write_release(out, (con, "ix"), units_table(con, "ix"),
                         methodologies=[get_methodology(s) for s in schemes], title=title,
                         publisher=publisher, inputs=inputs, counts=counts, demo=demo,
                         threshold=threshold, created=created, _fail_after_files=_fail_after_files)
