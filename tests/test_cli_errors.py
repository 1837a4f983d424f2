"""Bad input at the command line (``python -m sipas_data ...``, ``python -m geo install ...``):
one plain "error: ..." paragraph on stderr and exit code 2 for what stops a command, row messages
for rejected rows; never a Python traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sipas_data.__main__ import MIN_THRESHOLD

ROOT = Path(__file__).resolve().parents[1]
SHARED_GEO = ROOT.parent / "shared" / "geo"
EXAMPLE = ROOT / "sipas_data" / "templates" / "vi-du-phieu-sipas-2022.xlsx"
OFFICIAL_HEADER = "year,level,unit_code,indicator,value,source\n"

# Runs the command line with the Parquet writer failing as on a full disk (ENOSPC).
DISK_FULL = """
import errno, sys
import pyarrow.parquet as pq

def full(self, *args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")

pq.ParquetWriter.write_table = full
from sipas_data.__main__ import main
raise SystemExit(main(sys.argv[1:]))
"""


def run(*args, cwd, module="sipas_data", code=None):
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", module]
    return subprocess.run([*cmd, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def refused(res, *words):
    """Exit 2, a plain message naming ``words`` on stderr, no traceback."""
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout, res.stderr
    assert "error:" in res.stderr
    for w in words:
        assert w in res.stderr, res.stderr


def forms_csv(tmp_path: Path, weights=("", "")) -> Path:
    """A few valid 2024 forms from Đồng Tháp (two communes) as a CSV."""
    from sipas_data.scheme import builtin_schemes

    items = builtin_schemes()["sipas-2022"].item_ids(2024)
    rows = []
    for i, w in enumerate(weights):
        row = {"form_id": f"F{i}", "year": "2024", "province_code": "87",
               "district_code": ["868", "866"][i % 2], "commune_code": ["29954", "29869"][i % 2],
               "service": "marriage", "weight": w}
        row.update({it: str(1 + (i + k) % 5) for k, it in enumerate(items)})
        rows.append(row)
    path = tmp_path / "forms.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


# --- official figures file ----------------------------------------------------------------------

@pytest.mark.parametrize("content, words", [
    ("", ["official.csv", "empty", "year, level, unit_code"]),
    ("\n\n", ["official.csv", "empty"]),
    (OFFICIAL_HEADER + "2024,country,VN,sipas,80,BNV\n2023,country,VN,sipas,80,BNV,x,y\n",
     ["official.csv", "row 3 has 8 cells but the header has 6"]),
    (OFFICIAL_HEADER + "2024,country,VN,sipas,80,BNV,x,y\n", ["row 2 has 8 cells but the header has 6"]),
    ("year,level,unit_code,indicator,value,source,value\n", ["the column 'value' appears twice"]),
])
def test_unreadable_official_file(tmp_path, content, words):
    off = tmp_path / "official.csv"
    off.write_text(content, encoding="utf-8")
    res = run("build", "--responses", forms_csv(tmp_path), "--official", off, "--out",
              tmp_path / "r" / "x", cwd=tmp_path)
    refused(res, *words)
    assert not (tmp_path / "r" / "x").exists()


def test_folder_or_missing_file_as_official(tmp_path):
    (tmp_path / "figures").mkdir()
    res = run("build", "--responses", forms_csv(tmp_path), "--official", tmp_path / "figures",
              "--out", tmp_path / "r" / "x", cwd=tmp_path)
    refused(res, "figures: is a folder")
    res = run("build", "--responses", forms_csv(tmp_path), "--official", tmp_path / "nope.csv",
              "--out", tmp_path / "r" / "x", cwd=tmp_path)
    refused(res, "nope.csv: no such file")


# --- weights ------------------------------------------------------------------------------------

@pytest.mark.parametrize("weight, words", [
    ("1e308", ["weight: 1e308 is not a plausible weight", "1e+06"]),
    ("1e15", ["weight: 1e15 is not a plausible weight"]),
    ("5000", ["weight: 5000 is more than 1000 times the median weight of the file (1)"]),
])
def test_implausible_weight_is_a_row_message_and_the_build_goes_on(tmp_path, weight, words):
    forms = forms_csv(tmp_path, weights=("", "1", "1", weight))
    res = run("validate", forms, cwd=tmp_path)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    for w in ["row 5:", *words]:
        assert w in res.stdout, res.stdout
    out = tmp_path / "r" / "w"
    res = run("build", "--responses", forms, "--out", out, "--threshold", MIN_THRESHOLD, cwd=tmp_path)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["forms_accepted"] == 3 and manifest["counts"]["forms_rejected"] == 1


# --- release id, threshold ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bad id!", "đồng-tháp", ".hidden", "x" * 101])
def test_release_id_with_characters_not_allowed(tmp_path, name):
    res = run("build", "--responses", forms_csv(tmp_path), "--out", tmp_path / "r" / name, cwd=tmp_path)
    refused(res, f"'{name}'", "letters a-z", "digits, '-', '_' and '.'")
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


@pytest.mark.parametrize("value, words", [
    ("0", ["--threshold", "0 is too low", f"at least {MIN_THRESHOLD}"]),
    ("-3", ["--threshold", "-3 is too low"]),
    (str(MIN_THRESHOLD - 1), [f"{MIN_THRESHOLD - 1} is too low"]),
    ("ten", ["--threshold", "'ten' is not a whole number"]),
])
def test_threshold_below_the_floor(tmp_path, value, words):
    res = run("build", "--responses", forms_csv(tmp_path), "--out", tmp_path / "r" / "x",
              "--threshold", value, cwd=tmp_path)
    refused(res, *words)
    assert not (tmp_path / "r").exists()


def test_threshold_floor_is_ten():
    assert MIN_THRESHOLD == 10


# --- writing ------------------------------------------------------------------------------------

def test_disk_full_during_a_build_leaves_the_previous_release(tmp_path):
    out = tmp_path / "releases" / "2024-dong-thap"
    first = run("build", "--responses", EXAMPLE, "--out", out, "--title", "first", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = (out / "manifest.json").read_bytes()
    res = run("build", "--responses", EXAMPLE, "--out", out, "--title", "second", cwd=tmp_path,
              code=DISK_FULL)
    refused(res, "could not write the release: No space left on device")
    assert (out / "manifest.json").read_bytes() == before
    assert [p.name for p in out.parent.iterdir() if not p.name.startswith(".")] == [out.name]
    fresh = tmp_path / "releases" / "new"
    res = run("build", "--responses", EXAMPLE, "--out", fresh, cwd=tmp_path, code=DISK_FULL)
    refused(res, "could not write the release")
    assert not fresh.exists()


@pytest.mark.parametrize("where", ["folder", "missing/x.csv"])
def test_rejects_file_that_cannot_be_written(tmp_path, where):
    (tmp_path / "folder").mkdir()
    forms = forms_csv(tmp_path, weights=("", "-1"))
    res = run("validate", forms, "--rejects", tmp_path / where, cwd=tmp_path)
    refused(res, "could not write the rejected rows to", where)


# --- geo install --------------------------------------------------------------------------------

@pytest.mark.skipif(not (SHARED_GEO / "communes_87_dong_thap.geojson").exists(),
                    reason="boundary fixtures in ../shared/geo are absent")
def test_geo_install_keeps_an_unknown_code_of_a_file_without_parent_columns(tmp_path):
    import geopandas as gpd

    g = gpd.read_file(SHARED_GEO / "communes_87_dong_thap.geojson")
    g = g.drop(columns=[c for c in ("province_code", "district_code") if c in g.columns])
    g.loc[g.index[0], "code"] = "99991"
    f = tmp_path / "communes.geojson"
    g.to_file(f)
    for _ in range(2):  # installing again replaces the unknown unit, it does not add a second one
        res = run("install", f, "--vintage", "2019", "--level", "commune", "--dest", tmp_path / "d",
                  cwd=tmp_path, module="geo")
        assert res.returncode == 0, res.stdout + res.stderr
        assert "Traceback" not in res.stderr
    raw = gpd.read_parquet(tmp_path / "d" / "2019" / "commune" / "raw.parquet")
    assert len(raw) == len(g) and (raw["code"] == "99991").sum() == 1
    assert not raw.loc[raw["code"] == "99991", "known"].iloc[0]


@pytest.mark.skipif(not (SHARED_GEO / "communes_87_dong_thap.geojson").exists(),
                    reason="boundary fixtures in ../shared/geo are absent")
def test_geo_install_into_a_folder_that_cannot_be_written(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the boundaries folder should be")
    res = run("install", SHARED_GEO / "communes_87_dong_thap.geojson", "--vintage", "2019", "--level", "commune",
              "--dest", blocked / "d", cwd=tmp_path, module="geo")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "could not install the boundaries" in res.stderr


@pytest.mark.parametrize("asked,used", [(None, "system"), ("mimalloc", "mimalloc")])
def test_the_command_line_gives_arrow_the_c_library_allocator_unless_told(asked, used):
    """The command line sets Arrow's allocator before pyarrow loads (the C library's: a 1M-form
    build peaked about 200 MB lower with it), and keeps one the user chose."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if asked:
        env["ARROW_DEFAULT_MEMORY_POOL"] = asked
    code = "import sipas_data.__main__, pyarrow; print(pyarrow.default_memory_pool().backend_name)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == used
