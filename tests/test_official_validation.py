"""Official figures (sipas_data.official) are checked like forms: every row accepted or rejected
with a message naming the row, the column and what was expected; rejected rows go to a rejects
file written whole or not at all."""
from __future__ import annotations

import datetime as dt
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sipas_data.official import (
    OfficialFileError, read_official, write_official_rejects, year_range,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "sipas_data" / "templates" / "vi-du-phieu-sipas-2022.xlsx"
HEADER = "year,level,unit_code,indicator,value,source\n"
GOOD = "2024,country,VN,sipas,80.5,Bộ Nội vụ 2024"
NEXT_YEAR = dt.date.today().year + 1


def official(tmp_path, *lines, name="official.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def only_reject(off) -> tuple[int, str]:
    assert len(off.rejects) == 1, off.rejects
    assert len(off.rows) + len(off.rejects) == off.rows_read
    return int(off.rejects["row"].iloc[0]), off.rejects["errors"].iloc[0]


def test_year_range_runs_from_the_first_scheme_to_next_year():
    first = min(json.loads(p.read_text(encoding="utf-8"))["years"]["from"]
                for p in (ROOT / "sipas_data" / "methodologies").glob("sipas-*.json"))
    assert year_range() == (first, NEXT_YEAR) == (2017, NEXT_YEAR)


@pytest.mark.parametrize("line, message", [
    ("9999,country,VN,sipas,80,BNV",
     f"year: 9999 is not a survey year a release can hold (expected 2017 to {NEXT_YEAR})"),
    ("2016,country,VN,sipas,80,BNV", "year: 2016 is not a survey year"),
    (f"{NEXT_YEAR + 1},country,VN,sipas,80,BNV", f"year: {NEXT_YEAR + 1} is not a survey year"),
    ("0000,country,VN,sipas,80,BNV", "year: 0 is not a survey year"),
    ("20x4,country,VN,sipas,80,BNV", "year: expected a four-digit year, got '20x4'"),
    ("2024,region,VN,sipas,80,BNV", "level: expected one of country, province, district, commune, got 'region'"),
    ("2024,country,87,sipas,80,BNV", "unit_code: a country row needs the code VN, got '87'"),
    ("2025,province,87,sipas,80,BNV", "unit_code: '87' is not a province code in force in 2025"),
    ("2024,commune,11948,sipas,80,BNV", "unit_code: '11948' is not a commune code in force in 2024"),
    ("2025,district,868,sipas,80,BNV", "unit_code: '868' is not a district code in force in 2025"),
    ("2024,commune,99999,sipas,80,BNV", "unit_code: '99999' is not a commune code in force in 2024"),
    ("2024,country,VN,element:nothing,80,BNV", "indicator: 'element:nothing' is not an indicator of sipas-2022"),
    ("2019,country,VN,item:access_9,80,BNV", "indicator: 'item:access_9' is not an indicator of sipas-2017"),
    ("2024,country,VN,sipas,-1,BNV", "value: expected a percentage between 0 and 100, got -1"),
    ("2024,country,VN,sipas,100.5,BNV", "value: expected a percentage between 0 and 100, got 100.5"),
    ("2024,country,VN,sipas,nan,BNV", "value: expected a percentage between 0 and 100, got nan"),
])
def test_bad_rows_are_rejected_naming_row_column_and_expected(tmp_path, line, message):
    off = read_official(official(tmp_path, GOOD, line))
    row, errors = only_reject(off)
    assert row == 3 and errors.startswith(message), errors
    assert off.rows["year"].tolist() == [2024]


@pytest.mark.parametrize("line", [
    "2017,country,VN,sipas,70,BNV", f"{NEXT_YEAR},country,VN,sipas,70,BNV",
    "2024,province,87,sipas,0,BNV", "2025,province,82,sipas,100,BNV", "2024,district,868,sipas,70,BNV",
    "2025,commune,11948,sipas,70,BNV", "2024,province,87,element:access,70,BNV",
])
def test_rows_at_the_edges_are_accepted(tmp_path, line):
    off = read_official(official(tmp_path, line))
    assert off.ok and len(off.rows) == 1, off.rejects


def test_duplicate_names_the_first_row_it_repeats(tmp_path):
    off = read_official(official(tmp_path, GOOD, "2024,province,87,sipas,70,BNV",
                                 "2024,province,87,sipas,71,other source", "2024,country,VN,sipas,81,x"))
    assert off.rows_read == 4 and len(off.rows) == 2
    assert off.rejects["row"].tolist() == [4, 5]
    assert off.rejects["errors"].tolist() == [
        "unit_code: duplicate of row 3 (same year, level, unit and indicator)",
        "unit_code: duplicate of row 2 (same year, level, unit and indicator)"]


def test_row_numbers_are_a_spreadsheets_with_blank_rows_skipped(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(HEADER + GOOD + "\n\n,,,,,\n" + "9999,country,VN,sipas,80,BNV\n", encoding="utf-8")
    off = read_official(path)
    assert off.rows_read == 2
    assert only_reject(off)[0] == 5


def test_rejects_file_round_trip(tmp_path):
    path = official(tmp_path, GOOD, "9999,country,VN,sipas,80,BNV", "2024,province,87,sipas,180,BNV")
    off = read_official(path)
    out = write_official_rejects(off, tmp_path / "official.rejects.csv")
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(back.columns) == ["year", "level", "unit_code", "indicator", "value", "source", "row", "errors"]
    assert back["row"].tolist() == ["3", "4"]
    back.loc[0, "year"] = "2023"              # the user fixes one row and reads the file again
    back.to_csv(out, index=False, encoding="utf-8-sig")
    again = read_official(out)
    assert again.columns_ignored == []
    assert again.rows["year"].tolist() == [2023] and again.rejects["row"].tolist() == [3]


def test_rejects_file_is_whole_or_the_old_one(tmp_path, monkeypatch):
    off = read_official(official(tmp_path, GOOD, "9999,country,VN,sipas,80,BNV"))
    out = write_official_rejects(off, tmp_path / "official.rejects.csv")
    before = out.read_bytes()
    real = pd.DataFrame.to_csv

    def half_then_full(self, f=None, *args, **kwargs):
        text = real(self, None, *args, **kwargs)
        f.write(text[: len(text) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_full)
    with pytest.raises(OSError, match="No space left"):
        write_official_rejects(off, out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["official.csv", "official.rejects.csv"]


@pytest.mark.parametrize("content, message", [
    (b"", "o.csv: the file is empty"),
    (b"\n\n", "o.csv: the file is empty"),
    (HEADER.encode() + b"2024,country,VN,sipas,80,BNV,x\n",
     "o.csv: cannot be read as CSV (row 2 has 7 cells but the header has 6)"),
    ("năm,level\n".encode("cp1258"), "o.csv: the file is not UTF-8 or UTF-16 text"),
    (b"year,level,unit_code\n2024,country,VN\n", "o.csv: missing column(s) indicator, value, source"),
])
def test_file_level_errors(tmp_path, content, message):
    path = tmp_path / "o.csv"
    path.write_bytes(content)
    with pytest.raises(OfficialFileError) as exc:
        read_official(path)
    assert str(exc.value).startswith(message), exc.value


def test_folder_and_missing_file(tmp_path):
    with pytest.raises(OfficialFileError, match="is a folder"):
        read_official(tmp_path)
    with pytest.raises(OfficialFileError, match="nope.csv: no such file"):
        read_official(tmp_path / "nope.csv")


def test_cli_build_leaves_rejected_official_rows_out_and_writes_them(tmp_path):
    path = official(tmp_path, "2024,province,87,sipas,80.5,BNV", "9999,country,VN,sipas,80,BNV",
                    "2024,province,87,sipas,70,BNV")
    out = tmp_path / "releases" / "r"
    res = subprocess.run([sys.executable, "-m", "sipas_data", "build", "--responses", str(EXAMPLE),
                          "--official", str(path), "--out", str(out)], cwd=tmp_path, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert "official.csv row 3: year: 9999 is not a survey year" in res.stdout
    assert "official.csv row 4: unit_code: duplicate of row 2" in res.stdout
    rejects = tmp_path / "official.rejects.csv"
    assert f"Rejected official rows with their reasons: {rejects}" in res.stdout
    assert pd.read_csv(rejects, dtype=str)["row"].tolist() == ["3", "4"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert 9999 not in manifest["years"] and manifest["counts"]["official_rows"] == 1
