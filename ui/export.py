"""Downloads of exactly what a view shows: CSV (UTF-8 with BOM, for Excel) and XLSX."""
from __future__ import annotations

import io

import pandas as pd


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode("utf-8-sig")


def xlsx_bytes(df: pd.DataFrame, sheet: str = "SIPAS", notes: list[str] | None = None) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        df.to_excel(xw, index=False, sheet_name=sheet[:31])
        if notes:
            pd.DataFrame({"note": notes}).to_excel(xw, index=False, sheet_name="notes")
    return buf.getvalue()


def slug(*parts) -> str:
    keep = "abcdefghijklmnopqrstuvwxyz0123456789-_"
    out = "-".join(str(p) for p in parts if p not in (None, ""))
    return "".join(c if c in keep else "_" for c in out.lower())[:120]
