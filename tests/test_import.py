"""Import of survey forms (sipas_data.importer)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sipas_data import schema
from sipas_data.importer import (
    ImportFileError, canonical_header, default_rejects_path, read_forms, write_rejects,
)
from sipas_data.scheme import builtin_schemes

FIXTURES = Path(__file__).parent / "fixtures" / "import"
TEMPLATES = Path(__file__).parent.parent / "sipas_data" / "templates"
ITEMS_2024 = builtin_schemes()["sipas-2022"].item_ids(2024)


def form(**over) -> dict:
    """A valid 2024 sipas-2022 form from Đồng Tháp (commune level), as a clerk's text cells."""
    row = {"form_id": "F1", "year": "2024", "scheme": "sipas-2022", "province_code": "87",
           "district_code": "868", "commune_code": "29954", "service": "marriage",
           "gender": "1", "weight": "", "collected_on": "05/09/2024", "channel": "trực tiếp"}
    row.update({it: "4" for it in ITEMS_2024})
    year = str(over.get("year", ""))
    if "collected_on" not in over and year.isdigit() and len(year) == 4:
        row["collected_on"] = f"05/09/{year}"  # a form is collected in its survey year
    row.update(over)
    return row


def write_csv(path: Path, rows: list[dict], **kw) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False, **kw)
    return path


def check_invariant(res, rows: list[dict] | None = None):
    assert len(res.accepted) + len(res.rejects) + res.duplicates_ignored == res.rows_read
    if rows is not None:
        assert res.rows_read == len(rows)
        # nothing lost: every form id read is in accepted, in rejects, or was ignored as a duplicate
        seen = set(res.accepted["form_id"].dropna()) | set(res.rejects.get("form_id", []))
        assert {r["form_id"] for r in rows if r.get("form_id")} <= seen | {""}


def only_error(res) -> tuple[int, str]:
    assert len(res.rejects) == 1, res.rejects
    return int(res.rejects["row"].iloc[0]), res.rejects["errors"].iloc[0]


def import_rows(tmp_path, rows, name="forms.csv"):
    path = write_csv(tmp_path / name, rows)
    res = read_forms(path)
    check_invariant(res, rows)
    return res


# --- one test per kind of bad input ---------------------------------------------------------

def test_unknown_code_for_the_year(tmp_path):
    res = import_rows(tmp_path, [form(), form(form_id="F2", district_code="999", commune_code="")])
    row, msg = only_error(res)
    assert row == 3
    assert "district_code: '999' is not a district code in force in 2024" in msg
    assert res.rejects["form_id"].tolist() == ["F2"]
    # Đồng Tháp's pre-reform code 87 is not a province from 2025 (it is 82 now)
    res = import_rows(tmp_path, [form(year="2025", district_code="", commune_code="28249")])
    row, msg = only_error(res)
    assert row == 2 and "province_code: '87' is not a province code in force in 2025" in msg
    assert "unknown administrative code: 1" in res.summary()


def test_commune_outside_its_district(tmp_path):
    res = import_rows(tmp_path, [form(district_code="866", commune_code="29954")])
    row, msg = only_error(res)
    assert row == 2
    assert msg == "commune_code: '29954' is not in district '866' (it belongs to district '868')"


def test_commune_outside_its_province_from_2025(tmp_path):
    good = form(form_id="G", year="2025", scheme="", province_code="82", district_code="",
                commune_code="28249")
    bad = form(form_id="B", year="2025", scheme="", province_code="82", district_code="",
               commune_code="00004")
    res = import_rows(tmp_path, [good, bad])
    row, msg = only_error(res)
    assert row == 3
    assert msg == "commune_code: '00004' is not in province '82' (it belongs to province '01')"
    assert res.accepted["agency_level"].tolist() == ["commune"]
    assert res.accepted["district_code"].isna().all()


def test_district_outside_its_province(tmp_path):
    res = import_rows(tmp_path, [form(province_code="01", district_code="866", commune_code="29869")])
    row, msg = only_error(res)
    assert row == 2
    assert "district_code: '866' is not in province '01' (it belongs to province '87')" in msg


def test_service_not_in_the_scheme(tmp_path):
    res = import_rows(tmp_path, [form(service="passport")])
    row, msg = only_error(res)
    assert row == 2
    assert msg.startswith("service: 'passport' is not a service of sipas-2022 (expected one of id_card,")


def test_answer_outside_the_scale(tmp_path):
    rows = [form(form_id="A", access_2="7"), form(form_id="B", access_1="-1"),
            form(form_id="C", results_1="4.5"), form(form_id="D", feedback_3="rất tốt")]
    res = import_rows(tmp_path, rows)
    errors = dict(zip(res.rejects["row"], res.rejects["errors"]))
    assert errors[2] == "access_2: 7 is outside the answer scale 1–5"
    assert errors[3] == "access_1: -1 is outside the answer scale 1–5"
    assert errors[4] == "results_1: 4.5 is outside the answer scale 1–5"
    assert errors[5].startswith("feedback_3: 'rất tốt' is not an answer (expected 1–5")
    assert len(res.accepted) == 0


def test_duplicate_form_id(tmp_path):
    rows = [form(form_id="X"), form(form_id="X"), form(form_id="X", access_1="5"), form(form_id="Y")]
    res = import_rows(tmp_path, rows)
    errors = dict(zip(res.rejects["row"], res.rejects["errors"]))
    assert errors == {3: "form_id: duplicate of row 2 (the same form entered twice)",
                      4: "form_id: duplicate of row 2 (different answers)"}
    assert sorted(res.accepted["form_id"]) == ["X", "Y"]
    # the same id in another survey year is another form
    res = import_rows(tmp_path, [form(form_id="X"), form(form_id="X", year="2023", access_4="4")])
    assert res.ok and len(res.accepted) == 2


def test_missing_required_field(tmp_path):
    rows = [form(form_id=""), form(form_id="P", province_code=""), form(form_id="S", service=""),
            form(form_id="D", district_code="", commune_code="", service="id_card"),
            form(form_id="C", commune_code=""), form(form_id="Y", year="")]
    res = import_rows(tmp_path, rows)
    errors = dict(zip(res.rejects["row"], res.rejects["errors"]))
    assert errors[2] == "form_id: missing (required)"
    assert errors[3] == "province_code: missing (required)"
    assert errors[4] == "service: missing (required)"
    assert errors[5] == "district_code: missing (required for surveys up to 2024)"
    assert errors[6] == "commune_code: missing (required when the agency is at commune level)"
    assert errors[7] == "year: missing (required)"
    assert res.rejects["form_id"].tolist() == ["", "P", "S", "D", "C", "Y"]
    assert "missing required field: 6" in res.summary()


def test_year_or_scheme_that_does_not_match(tmp_path):
    rows = [form(form_id="A", year="2023", scheme="sipas-2017", access_4="4"),
            form(form_id="B", year="1999"),
            form(form_id="C", year="2025", district_code="", province_code="82",
                 commune_code="28249", agency_level="district"),
            form(form_id="E", scheme="")]
    res = import_rows(tmp_path, rows)
    errors = dict(zip(res.rejects["row"], res.rejects["errors"]))
    assert errors[2] == "scheme: 'sipas-2017' does not apply to 2023 (expected sipas-2022)"
    assert errors[3] == "year: no scheme covers 1999 (expected 2017 or later)"
    assert errors[4].startswith("agency_level: 'district' is not possible in 2025")
    assert res.accepted["scheme"].tolist() == ["sipas-2022"]   # blank scheme filled from the year


def test_agency_level_rules(tmp_path):
    rows = [form(form_id="D1", service="land_certificate", commune_code=""),
            form(form_id="D2", service="id_card"),
            form(form_id="N", year="2025", province_code="82", district_code="", commune_code="28249",
                 service="land_certificate"),
            form(form_id="Q", year="2025", province_code="82", district_code="868", commune_code="28249")]
    res = import_rows(tmp_path, rows)
    errors = dict(zip(res.rejects["row"], res.rejects["errors"]))
    assert errors[3].startswith("commune_code: must be empty when the agency is at district level")
    assert errors[5] == "district_code: must be empty in 2025 (districts were abolished from 2025)"
    acc = res.accepted.set_index("form_id")
    assert acc.loc["D1", "agency_level"] == "district" and pd.isna(acc.loc["D1", "commune_code"])
    assert acc.loc["N", "agency_level"] == "commune"   # no districts from 2025


def test_bad_profile_weight_date(tmp_path):
    rows = [form(form_id="G", gender="khác"), form(form_id="W", weight="-2"),
            form(form_id="T", collected_on="31/02/2024"), form(form_id="OK", gender="Nữ", weight="1,5")]
    res = import_rows(tmp_path, rows)
    errors = dict(zip(res.rejects["row"], res.rejects["errors"]))
    assert errors[2].startswith("gender: 'khác' is not an accepted value (expected one of male / 1 / Nam")
    assert errors[3].startswith("weight: '-2' is not a number greater than 0")
    assert errors[4].startswith("collected_on: '31/02/2024' is not a date")
    ok = res.accepted.iloc[0]
    assert ok["gender"] == "female" and ok["weight"] == 1.5 and ok["collected_on"] == "2024-09-05"


@pytest.mark.parametrize("weight, message", [
    ("1e308", "weight: 1e308 is not a plausible weight (expected a number from 1e-06 to 1e+06"),
    ("1e15", "weight: 1e15 is not a plausible weight"),
    ("inf", "weight: 'inf' is not a number greater than 0"),
    ("nan", "weight: 'nan' is not a number greater than 0"),
    ("0", "weight: '0' is not a number greater than 0"),
    ("1e-9", "weight: 1e-9 is not a plausible weight"),
    ("1500", "weight: 1500 is more than 1000 times the median weight of the file (1); "
             "expected a weight from 0.001 to 1000"),
    ("0,0005", "weight: 0,0005 is less than 1/1000 of the median weight of the file (1); "
               "expected a weight from 0.001 to 1000"),
])
def test_implausible_weights_are_rejected(tmp_path, weight, message):
    rows = [form(form_id="A"), form(form_id="B", weight="1"), form(form_id="C", weight="1,0"),
            form(form_id="W", weight=weight)]
    row, errors = only_error(import_rows(tmp_path, rows))
    assert row == 5 and errors.startswith(message), errors


def test_plausible_weights_are_relative_to_the_file(tmp_path):
    from sipas_data.importer import MAX_WEIGHT, MAX_WEIGHT_RATIO

    assert (MAX_WEIGHT, MAX_WEIGHT_RATIO) == (1e6, 1000)
    # expansion weights (residents per form) are large but alike: all accepted
    rows = [form(form_id=f"E{i}", weight=str(w)) for i, w in enumerate([2500, 4000, 800, 120_000])]
    res = import_rows(tmp_path, rows)
    assert res.ok and res.accepted["weight"].tolist() == [2500, 4000, 800, 120_000]
    # one weight far below the others in another file is judged against that file's median
    rows = [form(form_id=f"E{i}", weight=str(w)) for i, w in enumerate([2500, 4000, 800, 1])]
    row, errors = only_error(import_rows(tmp_path, rows, name="other.csv"))
    assert row == 5 and errors.startswith("weight: 1 is less than 1/1000 of the median weight of the file (1650)")


# --- values, headers, encodings ---------------------------------------------------------------

def test_invalid_answers_are_null_not_rejected(tmp_path):
    rows = [form(access_1="0", access_2="", access_3="không trả lời", procedures_1="4,5",
                 procedures_2="4;5", procedures_3="4 5", procedures_4="KTL", results_1="Khong tra loi",
                 results_2="4.0")]
    res = import_rows(tmp_path, rows)
    assert res.ok
    a = res.accepted.iloc[0]
    for c in ("access_1", "access_2", "access_3", "procedures_1", "procedures_2", "procedures_3",
              "procedures_4", "results_1"):
        assert pd.isna(a[c]), c
    assert a["results_2"] == 4 and a["civil_servants_1"] == 4
    assert str(res.accepted["access_1"].dtype) == "Int8"


def test_accepted_frame_contract(tmp_path):
    res = import_rows(tmp_path, [form(form_id="B"), form(form_id="A", year="2023", access_4="5")])
    acc = res.accepted
    assert list(acc.columns) == schema.response_columns(list(builtin_schemes().values()))
    assert acc["form_id"].tolist() == ["A", "B"]                       # sorted by year, form_id
    assert str(acc["year"].dtype) == "Int16" and acc["weight"].dtype == "float64"
    assert str(acc["province_code"].dtype) == "string"
    assert acc["access_4"].tolist()[0] == 5 and pd.isna(acc["access_4"].tolist()[1])


@pytest.mark.parametrize("forms", [
    [form(form_id="B"), form(form_id="A", year="2023", access_4="5", access_1="")],
    [form(form_id="A", province_code="99")],               # nothing accepted
])
def test_accepted_table_is_the_frame_converted_by_arrow(tmp_path, forms):
    """The accepted forms as Arrow: what pa.Table.from_pandas gives, nulls and metadata too."""
    import pyarrow as pa

    res = import_rows(tmp_path, forms)
    got, want = res.accepted_table(), pa.Table.from_pandas(res.accepted, preserve_index=False)
    assert got.schema.equals(want.schema, check_metadata=True) and got.equals(want)
    assert [c.null_count for c in got.columns] == [c.null_count for c in want.columns]
    assert got.column("access_4").to_pylist() == want.column("access_4").to_pylist()


def test_item_not_asked_that_year_is_ignored_and_noted(tmp_path):
    res = import_rows(tmp_path, [form(access_4="5")])
    assert res.ok and pd.isna(res.accepted["access_4"].iloc[0])
    assert "column 'access_4' is not asked in 2024 under sipas-2022: 1 values ignored" in res.summary()


def test_leading_zeros_restored_and_kept(tmp_path):
    rows = [form(province_code="1", district_code="1", commune_code="1"),
            form(form_id="F2", province_code="01", district_code="001", commune_code="00001")]
    res = import_rows(tmp_path, rows)
    assert res.ok
    assert res.accepted[["province_code", "district_code", "commune_code"]].values.tolist() == \
        [["01", "001", "00001"]] * 2
    # numbers typed into a spreadsheet
    xlsx = tmp_path / "numbers.xlsx"
    df = pd.DataFrame([{**form(), "province_code": 87, "district_code": 868, "commune_code": 29954,
                        "year": 2024, "access_1": 5}])
    df.to_excel(xlsx, index=False)
    res = read_forms(xlsx)
    assert res.ok and res.accepted[["province_code", "district_code", "commune_code"]].iloc[0].tolist() \
        == ["87", "868", "29954"]
    assert res.accepted["access_1"].iloc[0] == 5


def test_vietnamese_headers(tmp_path):
    res = read_forms(FIXTURES / "vietnamese-headers.csv")
    check_invariant(res)
    assert res.ok, res.rejects
    a = res.accepted.set_index("form_id")
    assert a.loc["HN-01", "service"] == "marriage"
    assert a.loc["HN-02", "service"] == "land_certificate"
    assert a.loc["HN-02", "agency_level"] == "district"
    assert a.loc["HN-01", ["access_1", "access_2", "access_3", "procedures_2", "civil_servants_1"]].tolist() \
        == [4, 5, 3, 4, 5]
    assert a.loc["HN-01", "expect_3"] == 1 and a.loc["HN-01", "expect_4"] == 1
    assert a.loc["HN-02", "perception_harassment"] == 1
    assert a.loc["HN-01", ["gender", "age_group", "education", "occupation", "ethnicity"]].tolist() \
        == ["male", "18-29", "university", "farmer", "kinh"]
    assert a.loc["HN-02", ["gender", "age_group", "education"]].tolist() == ["female", "30-44", "upper_secondary"]
    assert a.loc["HN-02", "collected_on"] == "2024-09-06"
    assert "columns not used: Ghi chú" in res.summary()


@pytest.mark.parametrize("header,canonical", [
    ("Mã phiếu", "form_id"), ("SỐ PHIẾU", "form_id"), ("Năm", "year"), ("Phương pháp", "scheme"),
    ("ma tinh", "province_code"), ("Mã huyện", "district_code"), ("Mã  xã", "commune_code"),
    ("Thủ tục", "service"), ("Cấp giải quyết", "agency_level"), ("Trọng số", "weight"),
    ("Ngày khảo sát", "collected_on"), ("Hình thức", "channel"), ("TC1", "access_1"),
    ("Tiếp cận 1", "access_1"), ("CC 6", "civil_servants_6"), ("KQ3", "results_3"),
    ("Góp ý 2", "feedback_2"), ("Trách nhiệm giải trình 1", "accountability_1"),
    ("Tham gia 2", "participation_2"), ("Chất lượng chính sách 9", "policy_quality_9"),
    ("Tác động chính sách 1", "policy_impact_1"), ("Mong đợi 3", "expect_3"), ("Kỳ vọng 10", "expect_10"),
    ("access_2", "access_2"), ("Nhận định 1", "perception_harassment"), ("Ghi chú", None), ("TC99", None),
])
def test_header_aliases(header, canonical):
    assert canonical_header(header) == canonical


ENCODINGS = {
    "utf8.csv": dict(encoding="utf-8"),
    "bom.csv": dict(encoding="utf-8-sig"),
    "utf16.txt": dict(encoding="utf-16", sep="\t"),
    "semicolon.csv": dict(encoding="utf-8", sep=";"),
}


def test_encodings_and_formats_give_identical_frames(tmp_path):
    rows = [form(form_id="Ư1", channel="trực tuyến; bưu điện"), form(form_id="Đ2", service="Đăng ký khai sinh"),
            form(form_id="X3", access_1="9")]
    results = {}
    for name, kw in ENCODINGS.items():
        results[name] = read_forms(write_csv(tmp_path / name, rows, **kw))
    pd.DataFrame(rows).to_excel(tmp_path / "book.xlsx", index=False)
    results["book.xlsx"] = read_forms(tmp_path / "book.xlsx")
    first = results["utf8.csv"]
    assert len(first.accepted) == 2 and len(first.rejects) == 1
    for name, res in results.items():
        check_invariant(res, rows)
        pd.testing.assert_frame_equal(res.accepted, first.accepted, obj=name)
        assert res.rejects["errors"].tolist() == first.rejects["errors"].tolist()
    assert first.accepted.set_index("form_id").loc["Ư1", "channel"] == "trực tuyến; bưu điện"
    # Excel's "Unicode text" (UTF-16 LE, tab separated, CRLF)
    text = "\r\n".join("\t".join(r) for r in [list(rows[0]), *[list(r.values()) for r in rows]])
    (tmp_path / "excel.txt").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    pd.testing.assert_frame_equal(read_forms(tmp_path / "excel.txt").accepted, first.accepted)


def test_xlsx_sheet_named_phieu_is_preferred(tmp_path):
    path = tmp_path / "two.xlsx"
    with pd.ExcelWriter(path) as w:
        pd.DataFrame({"note": ["hello"]}).to_excel(w, sheet_name="Ghi chú", index=False)
        pd.DataFrame([form()]).to_excel(w, sheet_name="Phiếu", index=False)
    res = read_forms(path)
    assert res.ok and len(res.accepted) == 1


# --- file-level problems -----------------------------------------------------------------------

def test_file_level_errors(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ImportFileError, match="empty"):
        read_forms(tmp_path / "empty.csv")
    (tmp_path / "forms.pdf").write_text("x")
    with pytest.raises(ImportFileError, match="cannot import a '.pdf' file"):
        read_forms(tmp_path / "forms.pdf")
    (tmp_path / "broken.xlsx").write_text("not a workbook")
    with pytest.raises(ImportFileError, match="cannot be opened as an Excel workbook"):
        read_forms(tmp_path / "broken.xlsx")
    (tmp_path / "latin.csv").write_bytes("form_id,Năm\n".encode("cp1258"))
    with pytest.raises(ImportFileError, match="not UTF-8 or UTF-16"):
        read_forms(tmp_path / "latin.csv")
    write_csv(tmp_path / "two.csv", [{**form(), "Mã tỉnh": "87"}])
    with pytest.raises(ImportFileError, match="'province_code' and 'Mã tỉnh' both mean 'province_code'"):
        read_forms(tmp_path / "two.csv")
    write_csv(tmp_path / "few.csv", [{"form_id": "1", "Năm": "2024"}])
    with pytest.raises(ImportFileError, match="required columns missing: province_code, service"):
        read_forms(tmp_path / "few.csv")


def test_header_only_and_blank_rows(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("form_id,year,province_code,service\n,,,\n\n", encoding="utf-8")
    res = read_forms(path)
    assert res.rows_read == 0 and res.ok and len(res.accepted) == 0
    assert res.sources[0]["rows"] == 0 and res.sources[0]["file"] == "blank.csv"


# --- rejects round trip, idempotence -------------------------------------------------------------

def test_fix_rejects_and_reimport(tmp_path):
    src = FIXTURES / "bad-rows.csv"
    res = read_forms(src)
    check_invariant(res)
    assert (res.rows_read, len(res.accepted), len(res.rejects)) == (3, 1, 2)
    assert default_rejects_path(src) == src.with_name("bad-rows.rejects.csv")
    assert "(see bad-rows.rejects.csv)" in res.summary()
    out = write_rejects(res, tmp_path / "bad-rows.rejects.csv")
    back = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert list(back.columns) == ["form_id", "year", "scheme", "province_code", "district_code",
                                  "commune_code", "service", "access_1", "access_2", "row", "errors"]
    assert back["row"].tolist() == ["3", "4"]
    # the user fixes one cell (district 999 -> 868) and imports the rejects file again
    back.loc[back["form_id"] == "A2", "district_code"] = "868"
    back.to_csv(out, index=False, encoding="utf-8-sig")
    again = read_forms(out)
    check_invariant(again)
    assert again.accepted["form_id"].tolist() == ["A2"]
    assert again.rejects["form_id"].tolist() == ["A3"]
    assert again.unused_columns == {"bad-rows.rejects.csv": []}
    both = read_forms([src, out])
    assert both.accepted["form_id"].tolist() == ["A1", "A2"]


def test_rejects_file_is_whole_or_the_old_one(tmp_path, monkeypatch):
    """A write that fails midway (a full disk) leaves the previous rejects file, or none, and no
    temporary file beside it."""
    import errno

    res = read_forms(FIXTURES / "bad-rows.csv")
    out = tmp_path / "bad-rows.rejects.csv"
    write_rejects(res, out)
    before = out.read_bytes()
    real = pd.DataFrame.to_csv

    def half_then_full(self, f=None, *args, **kwargs):
        text = real(self, None, *args, **kwargs)
        f.write(text[: len(text) // 2])
        f.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_full)
    with pytest.raises(OSError, match="No space left"):
        write_rejects(res, out)
    assert out.read_bytes() == before
    with pytest.raises(OSError):
        write_rejects(res, tmp_path / "new.rejects.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad-rows.rejects.csv"]
    monkeypatch.undo()
    write_rejects(res, out)   # and a write that succeeds replaces it whole
    assert out.read_bytes() == before


def test_importing_the_same_file_twice_changes_nothing(tmp_path):
    rows = [form(form_id=f"F{i}", access_1=str(1 + i % 5)) for i in range(6)] + [form(form_id="F0")]
    path = write_csv(tmp_path / "forms.csv", rows)
    once, twice = read_forms(path), read_forms([path, path])
    check_invariant(once, rows)
    check_invariant(twice)
    pd.testing.assert_frame_equal(once.accepted, twice.accepted)
    assert twice.duplicates_ignored == len(once.accepted)
    assert twice.rows_read == 2 * once.rows_read
    assert [s["sha256"] for s in twice.sources] == [once.sources[0]["sha256"]] * 2
    assert "forms already imported were ignored" in twice.summary()
    # a different form under an already-imported id in a later file is rejected, naming the file
    other = write_csv(tmp_path / "later.csv", [form(form_id="F1", access_1="5")])
    res = read_forms([path, other])
    assert res.rejects["errors"].tolist()[-1] == "form_id: duplicate of row 3 of forms.csv (different answers)"


# --- templates -------------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["sipas-2017", "sipas-2022"])
def test_templates(scheme):
    blank = TEMPLATES / f"mau-phieu-{scheme}.xlsx"
    example = TEMPLATES / f"vi-du-phieu-{scheme}.xlsx"
    assert blank.stat().st_size < 50_000 and example.stat().st_size < 50_000
    res = read_forms(blank)
    assert res.rows_read == 0 and res.ok and not res.unused_columns[blank.name]
    res = read_forms(example)
    assert res.ok, res.rejects["errors"].tolist()
    assert res.rows_read == len(res.accepted) >= 20
    assert set(res.accepted["scheme"]) == {scheme} and set(res.accepted["province_code"]) == {"87"}
    assert (res.accepted["agency_level"] == "district").sum() >= 2
    assert not res.unused_columns[example.name]


# --- property: random mixes of good and bad rows -----------------------------------------------------

BAD = {
    "code": {"district_code": "999"},
    "place": {"district_code": "866"},
    "service": {"service": "passport"},
    "scale": {"access_1": "7"},
    "missing": {"province_code": ""},
    "mismatch": {"scheme": "sipas-2017"},
    "value": {"gender": "??"},
    "null": {"access_2": "4,5"},          # not an error: stored as null
}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["good", *BAD]), st.integers(0, 8)), min_size=0, max_size=25),
       st.sampled_from(["csv", "xlsx"]))
def test_property_no_row_is_lost(tmp_path, spec, fmt):
    rows = [form(form_id=f"F{fid}", **BAD.get(kind, {})) for kind, fid in spec]
    path = tmp_path / f"mix.{fmt}"
    if fmt == "csv":
        write_csv(path, rows or [form()])
    else:
        pd.DataFrame(rows or [form()]).to_excel(path, index=False)
    if not rows:
        return
    res = read_forms(path)
    assert res.rows_read == len(rows)
    assert len(res.accepted) + len(res.rejects) + res.duplicates_ignored == res.rows_read
    assert res.duplicates_ignored == 0                      # within one file duplicates are rejected
    assert res.accepted["form_id"].is_unique
    expected_bad = {i + 2 for i, (kind, _) in enumerate(spec) if kind not in ("good", "null")}
    assert expected_bad <= set(res.rejects["row"])
    assert all(res.rejects["errors"].str.len() > 0)
    again = read_forms([path, path])
    pd.testing.assert_frame_equal(again.accepted, res.accepted)


def test_a_year_after_this_one_is_rejected(tmp_path):
    import datetime

    next_year = datetime.date.today().year + 1
    res = import_rows(tmp_path, [form(form_id="A", year=str(next_year)), form(form_id="B", year="9999"),
                                 form(form_id="C")])
    errors = dict(zip(res.rejects["row"], res.rejects["errors"]))
    assert errors[2] == f"year: {next_year} is after this year (expected 2017 to {next_year - 1})"
    assert errors[3].startswith("year: 9999 is after this year")
    assert res.accepted["form_id"].tolist() == ["C"]
