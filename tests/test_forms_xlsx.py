"""XLSX forms that used to lose data without a word: each is now read correctly or rejected with a
row message, and accepted + rejected + duplicates = rows in the file."""
from __future__ import annotations

import re
import resource
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from sipas_data.forms.xlsx import scan_sheet
from sipas_data.importer import ImportFileError, read_forms, write_rejects
from sipas_data.scheme import builtin_schemes

ITEMS_2024 = builtin_schemes()["sipas-2022"].item_ids(2024)


def form(i: int, **over) -> dict:
    """A valid 2024 sipas-2022 form from Đồng Tháp (commune level), typed as a clerk would."""
    row = {"form_id": f"F{i}", "year": 2024, "province_code": "87", "district_code": "868",
           "commune_code": "29954", "service": "marriage", "collected_on": "05/09/2024"}
    row.update({it: 4 for it in ITEMS_2024})
    row.update(over)
    return row


def workbook(path: Path, rows: list[dict], edit=None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "forms"
    headers = list(rows[0])
    ws.append(headers)
    for r in rows:
        ws.append([r.get(h) for h in headers])
    if edit:
        edit(ws, headers)
    wb.save(path)
    return path


def rewrite_sheet(path: Path, change) -> Path:
    """Rewrite the first sheet's XML with ``change(xml) -> xml`` (what another tool might write)."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    member = "xl/worksheets/sheet1.xml"
    parts[member] = change(parts[member].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    return path


def col(headers: list[str], name: str) -> str:
    return openpyxl.utils.get_column_letter(headers.index(name) + 1)


def invariant(res) -> None:
    assert len(res.accepted) + len(res.rejects) + res.duplicates_ignored == res.rows_read


def errors_by_row(res) -> dict[int, str]:
    return dict(zip(res.rejects["row"], res.rejects["errors"]))


def test_a_dimension_smaller_than_the_data_loses_no_form(tmp_path):
    path = workbook(tmp_path / "dim.xlsx", [form(i) for i in range(200)])
    rewrite_sheet(path, lambda x: re.sub(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:BX11"/>', x))
    assert 'ref="A1:BX11"' in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    res = read_forms(path)
    assert res.rows_read == 200 and len(res.accepted) == 200
    assert res.accepted["form_id"].tolist()[-1] == "F99"  # sorted as text; all 200 are there
    assert set(res.accepted["form_id"]) == {f"F{i}" for i in range(200)}


@pytest.mark.parametrize("cell", ["XFD1048576", "A200000", "ZZZ5"])
def test_a_stray_far_cell_is_refused_before_memory_is_spent(tmp_path, cell):
    path = workbook(tmp_path / "stray.xlsx", [form(i) for i in range(200)],
                    edit=lambda ws, h: ws.__setitem__(cell, "x"))
    assert path.stat().st_size < 40_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImportFileError, match=rf"too sparse to be forms.*{cell}.*delete it"):
        read_forms(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KB


def test_a_formula_without_a_saved_value_rejects_its_row_not_empties_it(tmp_path):
    rows = [form(i, note="") for i in range(4)]
    c = None

    def edit(ws, headers):
        nonlocal c
        c = col(headers, "access_1")
        ws[f"{c}3"] = "=2+2"                          # row 3: an answer from a formula
        ws[f"{col(headers, 'note')}4"] = "=1+1"       # row 4: a formula in a column not used
    path = workbook(tmp_path / "formula.xlsx", rows, edit)
    res = read_forms(path)
    invariant(res)
    assert errors_by_row(res) == {3: f"access_1: the cell {c}3 holds a formula without a saved value "
                                     "(open the file in Excel and save it again, or type the value)"}
    assert len(res.accepted) == 3
    assert res.error_counts == {"cell": 1}


def test_an_error_value_rejects_its_row(tmp_path):
    path = workbook(tmp_path / "err.xlsx", [form(i) for i in range(3)])
    c = col(list(form(0)), "access_1")
    rewrite_sheet(path, lambda x: re.sub(rf'(<c r="{c}2")[^>]*>.*?</c>', r'\1 t="e"><v>#N/A</v></c>', x, count=1))
    res = read_forms(path)
    invariant(res)
    (row, msg), = errors_by_row(res).items()
    assert row == 2 and msg == f"access_1: the cell {c}2 holds the error #N/A (expected a value)"


def test_decimal_comma_whole_number_is_the_answer_and_a_fraction_is_rejected(tmp_path):
    rows = [form(1, access_1="4,0"), form(2, access_1="4,50"), form(3, access_1="4,5"),
            form(4, access_1="3,00")]
    res = read_forms(workbook(tmp_path / "comma.xlsx", rows))
    invariant(res)
    got = res.accepted.set_index("form_id")["access_1"]
    assert got["F1"] == 4 and got["F4"] == 3
    assert pd.isna(got["F3"])            # two boxes ticked: no valid answer, as documented
    assert errors_by_row(res) == {3: "access_1: 4,50 is outside the answer scale 1–5"}


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_a_repeated_header_refuses_the_file(tmp_path, ext):
    frame = pd.DataFrame([form(1)])
    frame.insert(3, "access_1", 5, allow_duplicates=True)
    path = tmp_path / f"twice.{ext}"
    if ext == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_excel(path, index=False)
    with pytest.raises(ImportFileError, match=r"the header 'access_1' appears twice \(columns D and "
                                              r"[A-Z]+\); keep only one of them"):
        read_forms(path)


def test_true_in_an_answer_column_is_rejected_not_answer_1(tmp_path):
    res = read_forms(workbook(tmp_path / "bool.xlsx", [form(1, access_1=True), form(2)]))
    invariant(res)
    assert errors_by_row(res)[2].startswith("access_1: 'TRUE' is not an answer (expected 1–5")
    assert res.accepted["form_id"].tolist() == ["F2"]


@pytest.mark.parametrize("date,ok", [("0001-01-01", False), ("2099-12-31", False), ("31/12/2023", False),
                                     ("2024-01-01", True), ("2025-03-15", True), ("2025-07-01", False)])
def test_collection_date_outside_the_survey_year_is_rejected(tmp_path, date, ok):
    res = read_forms(workbook(tmp_path / "date.xlsx", [form(1, collected_on=date)]))
    invariant(res)
    assert (len(res.accepted) == 1) is ok
    if not ok:
        assert re.fullmatch(r"collected_on: \d{4}-\d\d-\d\d is outside the survey year 2024 "
                            r"\(expected a date from 2024-01-01 to 2025-06-30\)", res.rejects["errors"][0])


def test_hidden_rows_are_rejected_and_their_rejects_file_imports_again(tmp_path):
    path = workbook(tmp_path / "hidden.xlsx", [form(i) for i in range(5)],
                    edit=lambda ws, h: [setattr(ws.row_dimensions[r], "hidden", True) for r in (3, 5)])
    res = read_forms(path)
    invariant(res)
    assert sorted(errors_by_row(res)) == [3, 5]
    assert all(m.startswith("row hidden in the sheet") for m in res.rejects["errors"])
    assert res.error_counts == {"hidden": 2}
    back = read_forms(write_rejects(res, tmp_path / "hidden.rejects.csv"))
    assert len(back.accepted) == 2 and back.ok


def test_numbers_dates_and_text_cells_read_as_a_person_sees_them(tmp_path):
    import datetime as dt
    rows = [form(1, province_code=87, commune_code=29954.0, collected_on=dt.datetime(2024, 9, 5), weight=None),
            form(2, collected_on=dt.date(2024, 9, 6), weight=1.5)]
    res = read_forms(workbook(tmp_path / "types.xlsx", rows))
    assert res.ok, res.rejects
    a = res.accepted.set_index("form_id")
    assert a.loc["F1", "province_code"] == "87" and a.loc["F1", "commune_code"] == "29954"
    assert a.loc["F1", "collected_on"] == "2024-09-05" and a.loc["F2", "collected_on"] == "2024-09-06"
    assert a.loc["F2", "weight"] == 1.5 and a.loc["F1", "weight"] == 1.0


def test_scan_counts_cells_with_a_value_not_empty_styled_ones(tmp_path):
    def edit(ws, headers):
        ws["ZZ900"].number_format = "0.0"   # formatted, empty: not data
    path = workbook(tmp_path / "styled.xlsx", [form(1), form(2)], edit)
    with zipfile.ZipFile(path) as z, z.open("xl/worksheets/sheet1.xml") as f:
        scan = scan_sheet(f)
    assert (scan.height, scan.width) == (3, len(form(1)))
    assert scan.cells == 3 * len(form(1))
    assert read_forms(path).ok


def test_scan_in_small_chunks_finds_the_same(tmp_path, monkeypatch):
    from sipas_data.forms import xlsx

    def edit(ws, headers):
        c = col(headers, "access_1")
        for r in (3, 9, 17):
            ws[f"{c}{r}"] = "=2+2"
        ws.row_dimensions[12].hidden = True
    path = workbook(tmp_path / "chunks.xlsx", [form(i) for i in range(30)], edit)

    def scan():
        with zipfile.ZipFile(path) as z, z.open("xl/worksheets/sheet1.xml") as f:
            return scan_sheet(f)
    whole = scan()
    monkeypatch.setattr(xlsx, "_CHUNK", 97)   # chunks end inside tags, cells and rows
    small = scan()
    assert small == whole
    assert [r for r, _ in whole.no_value] == [3, 9, 17] and whole.hidden_rows == [12]
    assert whole.height == 31 and whole.cells == 31 * len(form(0))  # a formula cell holds something


def test_a_row_holding_only_formulas_without_values_is_rejected_not_skipped(tmp_path):
    rows = [form(1), {k: None for k in form(2)}, form(3)]

    def edit(ws, headers):
        ws[f"{col(headers, 'form_id')}3"] = '="F"&2'
    res = read_forms(workbook(tmp_path / "onlyformula.xlsx", rows, edit))
    invariant(res)
    assert res.rows_read == 3 and list(res.rejects["row"]) == [3]
    assert "form_id: the cell A3 holds a formula without a saved value" in res.rejects["errors"][0]


def test_each_cell_reads_as_its_own_text_whatever_else_its_column_holds(tmp_path):
    """A column worded by its distinct values must still word each cell by its own type: TRUE is
    not the number 1, a date not a date-time, a number not the text that looks like it."""
    import datetime as dt

    from sipas_data.forms.read import read_table
    notes = [True, 1, 1.0, False, 0, "1", None, dt.date(2024, 9, 6), dt.datetime(2024, 9, 6),
             dt.datetime(2024, 9, 6, 10, 30), 2.5, "4,0", -0.0, 1e16, "04"]
    answers = [4, None, 5, 4.0, None, 3, 2, 1, None, 5, 4, 4, 4, 4, 4]
    ticks = [1, True, 0.0, False, "TRUE", 2, 1.0, True, False, 0, "", 1, True, 1, 1]   # the number first
    rows = [form(i, note=n, access_1=a, tick=t) for i, (n, a, t) in enumerate(zip(notes, answers, ticks))]
    path = workbook(tmp_path / "mixed.xlsx", rows)
    # the header of access_1 typed as the number 2024
    rewrite_sheet(path, lambda x: re.sub(r'(<c r="[A-Z]+1") t="inlineStr"><is><t>access_1</t></is></c>',
                                         r"\1><v>2024</v></c>", x, count=1))
    assert "<v>2024</v>" in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    table = read_table(path)
    assert table.column("note").rows().tolist() == [
        "TRUE", "1", "1", "FALSE", "0", "1", "", "2024-09-06", "2024-09-06", "2024-09-06 10:30:00",
        "2.5", "4,0", "0", "10000000000000000", "04"]
    assert table.column("2024").rows().tolist() == ["4", "", "5", "4", "", "3", "2", "1", "", "5", "4",
                                                    "4", "4", "4", "4"]
    assert table.column("tick").rows().tolist() == [
        "1", "TRUE", "0", "FALSE", "TRUE", "2", "1", "TRUE", "FALSE", "0", "", "1", "TRUE", "1", "1"]
    assert table.column("year").rows().tolist() == ["2024"] * 15
    assert all(type(v) is str for c in table.columns for v in c.rows())


@pytest.mark.parametrize("chunk", [97, 1 << 20])
def test_scan_finds_the_rightmost_cell_holding_a_value_wherever_it_lies(tmp_path, monkeypatch, chunk):
    """The width is that of the rightmost cell holding something, found in a later chunk too, and
    compared as columns are (AA is right of Z, BA right of AZ), never an empty styled cell."""
    from sipas_data.forms import xlsx

    def edit(ws, headers):
        ws["AP3"] = "x"            # the forms fill A-AN (40 columns)
        ws["AZ20"] = "y"           # rightmost: column 52
        ws["BA21"].number_format = "0.0"   # styled, empty: not data
        ws["AY30"] = "z"
    path = workbook(tmp_path / "wide.xlsx", [form(i) for i in range(40)], edit)
    monkeypatch.setattr(xlsx, "_CHUNK", chunk)
    with zipfile.ZipFile(path) as z, z.open("xl/worksheets/sheet1.xml") as f:
        scan = scan_sheet(f)
    assert (scan.width, scan.height) == (52, 41)
    assert len(form(0)) == 40 and scan.cells == 41 * 40 + 3
    assert scan.far_cell == "AN41"                  # the lowest row's last cell


def test_the_column_search_orders_columns_by_width_then_letters():
    from sipas_data.forms.xlsx import _wider

    def right_of(letters, cell):
        pattern = _wider(letters.encode())
        return bool(pattern and pattern.match(f'<c r="{cell}1"><v>1</v></c>'.encode()))
    assert right_of("", "A") and right_of("Z", "AA") and right_of("AZ", "BA") and right_of("BK", "BL")
    assert right_of("ZZ", "AAA") and right_of("XFC", "XFD") and right_of("AZZ", "BAA")
    assert not right_of("BK", "BK") and not right_of("BK", "BJ") and not right_of("BK", "AZ")
    assert not right_of("AAA", "ZZ") and not right_of("XFD", "XFC") and _wider(b"ZZZ") is None
