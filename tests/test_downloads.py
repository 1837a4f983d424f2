"""Downloads a reader can use as they are: a view's CSV and XLSX in the viewer's language, rounded
as shown, with the provenance in the file; the full release machine-readable, plus its vintage."""
import csv
import hashlib
import io

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from apptest import errors, open_page

from sipas_data import calendar
from ui import export, fmt

#: a view's frame as ui.views.export_frame hands it over (hand-made: the values are worked below)
FRAME = pd.DataFrame({
    "release": ["r1"] * 3, "year": [2024] * 3, "area": ["87"] * 3, "level": ["commune"] * 3,
    "service": ["birth"] * 3, "indicator": ["element:access"] * 3,
    "code": ["29000", "29001", "29002"], "name": ["Xã A", "Xã B", "Xã C"],
    "value": [82.66349, None, 16.065], "ci_low": [80.12449, None, 10.0], "ci_high": [85.20251, None, 22.13],
    "n": [120.0, None, 31.0], "rank": [1.0, None, 2.0], "total": [2.0, 2.0, 2.0],
    "suppressed": [False, True, False],
})
LABELS = dict(year=2024, names={(2024, "87"): "Tỉnh Đồng Tháp"},
              services={(2024, "birth"): "Đăng ký khai sinh"},
              indicators={(2024, "element:access"): "Tiếp cận dịch vụ"})
PROV = export.Provenance(title="SIPAS · Bản đồ", indicator="Tiếp cận dịch vụ", place="Tỉnh Đồng Tháp",
                         year="2024", service="Đăng ký khai sinh", source="Nguồn: Sở Nội vụ, Báo cáo, 2025-01-01",
                         release="r1", demo=True)


def test_reader_frame_speaks_the_viewers_language_and_rounds_as_shown():
    before = FRAME.copy()
    d = export.reader_frame(FRAME, "vi", **LABELS)
    pd.testing.assert_frame_equal(FRAME, before)  # the caller's frame is untouched
    assert list(d.columns) == ["Năm", "Khu vực đang xem", "Cấp", "Dịch vụ", "Chỉ số", "Mã", "Địa bàn",
                               "Giá trị (%)", "KTC 95%: cận dưới", "KTC 95%: cận trên", "n (số trả lời hợp lệ)",
                               "Hạng", "Số đơn vị được xếp hạng", "Ghi chú", "Giá trị (%), đủ chữ số"]
    assert d["Khu vực đang xem"].tolist() == ["Tỉnh Đồng Tháp"] * 3
    assert d["Cấp"].tolist() == ["Xã/phường/thị trấn"] * 3  # the 2019 vintage's communes
    assert d["Dịch vụ"].iloc[0] == "Đăng ký khai sinh" and d["Chỉ số"].iloc[0] == "Tiếp cận dịch vụ"
    # as the page prints them (ui.fmt.num), not a binary round: 16.065 is shown as 16,06
    assert d["Giá trị (%)"].iloc[0] == 82.66 and fmt.num(16.065, "vi") == "16,06"
    assert d["Giá trị (%)"].iloc[2] == 16.06
    assert d["KTC 95%: cận dưới"].tolist()[::2] == [80.12, 10.0]
    assert d["KTC 95%: cận trên"].tolist()[::2] == [85.2, 22.13]
    assert d["Giá trị (%), đủ chữ số"].iloc[0] == 82.66349
    # whole numbers, and a withheld cell is named, with nothing in its numbers
    assert str(d["Hạng"].dtype) == "Int64" and d["Hạng"].tolist()[::2] == [1, 2]
    assert str(d["n (số trả lời hợp lệ)"].dtype) == "Int64"
    assert d["Ghi chú"].tolist() == ["", "không công bố", ""]
    assert d.loc[1, ["Giá trị (%)", "Hạng"]].isna().all()
    assert "r1" not in d.to_string()  # the release id is in the provenance, not a column


def test_reader_frame_in_english_and_on_the_2025_units():
    f = FRAME.assign(year=2025, basis=["pooled", "restated", "published"])
    d = export.reader_frame(f, "en", names={(2025, "87"): "Dong Thap"})
    assert d.columns[:3].tolist() == ["Year", "Area shown", "Level"]
    assert d["Level"].tolist() == ["Commune/ward/special zone"] * 3
    assert d["Basis"].tolist() == ["pooled from respondents", "restated on 2025 units", "as published"]
    assert d["Note"].tolist() == ["", "withheld", ""]
    # an id without a label stays as it is (never an empty cell)
    assert d["Service"].iloc[0] == "birth" and d["Indicator"].iloc[0] == "element:access"
    vi = export.reader_frame(f, "vi")
    assert vi["Cấp"].iloc[0] == "Xã/phường/đặc khu"


def test_unit_codes_get_their_names_when_the_frame_has_none():
    f = pd.DataFrame({"year": [2024, 2025], "vintage": ["2019", "2025"], "unit_code": ["868", "87"],
                      "value": [80.0, 81.0]})
    d = export.reader_frame(f, "en", names={(2024, "868"): "Hồng Ngự", (2025, "87"): "Đồng Tháp"})
    assert d["Code"].tolist() == ["868", "87"] and d["Area"].tolist() == ["Hồng Ngự", "Đồng Tháp"]
    assert d["Unit vintage"].tolist() == ["2019", "2025"]


def test_csv_starts_with_its_provenance_then_the_table():
    data = export.reader_csv(FRAME, "vi", PROV, **LABELS)
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    lines = PROV.lines("vi")
    assert [r[0] for r in rows[:len(lines)]] == lines
    assert lines[:6] == ["SIPAS · Bản đồ", "Chỉ số: Tiếp cận dịch vụ", "Địa bàn: Tỉnh Đồng Tháp", "Năm: 2024",
                         "Dịch vụ: Đăng ký khai sinh", "Nguồn: Sở Nội vụ, Báo cáo, 2025-01-01"]
    assert "Mã bản phát hành: r1" in lines and any(x.startswith("DỮ LIỆU MINH HỌA") for x in lines)
    assert rows[len(lines)] == []  # an empty line between the block and the table
    back = pd.read_csv(io.StringIO(text), skiprows=len(lines) + 1, dtype={"Mã": str})
    assert back["Mã"].tolist() == ["29000", "29001", "29002"]
    assert back["Giá trị (%)"].tolist()[::2] == [82.66, 16.06]
    assert back["Hạng"].tolist()[::2] == [1, 2] and "1.0" not in text.split("\n")[len(lines) + 2]
    # no demo line for a real release
    assert not any(x.startswith("DỮ LIỆU MINH HỌA") for x in
                   export.Provenance("t", "p", "2024", "s", "src", "r", False).lines("vi"))


def test_xlsx_has_a_title_block_and_numbers_formatted_as_shown():
    wb = openpyxl.load_workbook(io.BytesIO(export.reader_xlsx(FRAME, "en", PROV, **LABELS)))
    ws = wb["SIPAS"]
    lines = PROV.lines("en")
    assert [ws.cell(row=r, column=1).value for r in range(1, len(lines) + 1)] == lines
    assert ws["A1"].font.bold and "Area: Tỉnh Đồng Tháp" in lines and "Release id: r1" in lines
    assert any(x.startswith("DEMO DATA") for x in lines)
    head = len(lines) + 2  # the block, an empty row, the header
    assert ws.cell(row=head - 1, column=1).value is None
    header = [c.value for c in ws[head]]
    assert header[:3] == ["Year", "Area shown", "Level"] and header[-1] == "Value (%), full precision"
    col = {name: i + 1 for i, name in enumerate(header)}
    first = head + 1
    v = ws.cell(row=first, column=col["Value (%)"])
    assert (v.value, v.data_type, v.number_format) == (82.66, "n", "0.00")
    r = ws.cell(row=first, column=col["Rank"])
    assert (r.value, r.number_format) == (1, "0") and isinstance(r.value, int)
    assert ws.cell(row=first, column=col["Value (%), full precision"]).value == 82.66349
    assert ws.cell(row=first + 1, column=col["Value (%)"]).value is None
    assert ws.cell(row=first + 1, column=col["Note"]).value == "withheld"
    assert ws.cell(row=first, column=col["Level"]).value == "Commune/ward/township"
    assert ws.freeze_panes == f"A{first}"


def test_full_release_download_adds_the_vintage_and_leaves_the_release_alone(demo_release_root):
    path = demo_release_root / "demo-dong-thap" / "indices.parquet"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    export.full_release_parquet.cache_clear()
    data = export.full_release_parquet(str(path), "test")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    got = pq.read_table(io.BytesIO(data))
    orig = pq.read_table(path)
    assert got.column_names == [*orig.column_names, "vintage"]
    assert got.drop(["vintage"]).equals(orig)  # every published row and value as it is
    d = got.select(["year", "basis", "vintage"]).to_pandas().drop_duplicates()
    for row in d.itertuples():
        expected = calendar.latest().id if row.basis == "restated" else calendar.vintage_for_year(row.year)
        assert row.vintage == expected, row
    assert set(d.loc[(d.basis != "restated") & (d.year == 2024), "vintage"]) == {"2019"}
    assert set(d.loc[d.year == 2025, "vintage"]) == {"2025"}
    assert set(d.loc[d.basis == "restated", "vintage"]) == {"2025"}
    assert export.full_release_parquet(str(path), "test") is data  # made once per release


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_methodology_page_downloads_open_as_a_reader_expects(demo_release_root, monkeypatch, deferred, lang):
    monkeypatch.setenv("SIPAS_RELEASES", str(demo_release_root))
    at = open_page("pages/methodology.py", year="2025", unit="87", level="commune", lang=lang)
    assert not errors(at), errors(at)
    xlsx = next(f for k, f in deferred.items() if k.endswith(".xlsx"))()
    csv_data = next(f for k, f in deferred.items() if k.endswith(".csv"))()
    ws = openpyxl.load_workbook(io.BytesIO(xlsx))["SIPAS"]
    block = []
    for row in ws.iter_rows(min_col=1, max_col=1):
        if row[0].value is None:
            break
        block.append(row[0].value)
    words = {"vi": ("Địa bàn: Tỉnh Đồng Tháp", "Năm: 2025", "Dịch vụ: Tất cả dịch vụ",
                    "Mã bản phát hành: demo-dong-thap", "DỮ LIỆU MINH HỌA"),
             "en": ("Area: Tỉnh Đồng Tháp", "Year: 2025", "Service: All services", "Release id: demo-dong-thap",
                    "DEMO DATA")}[lang]
    for w in words:
        assert any(line.startswith(w) for line in block), (w, block)
    header = [c.value for c in ws[len(block) + 2]]
    level = {"vi": ("Cấp", "Xã/phường/đặc khu"), "en": ("Level", "Commune/ward/special zone")}[lang]
    assert level[0] in header and ("Giá trị (%)" if lang == "vi" else "Value (%)") in header
    rows = list(ws.iter_rows(min_row=len(block) + 3, values_only=True))
    assert rows and {r[header.index(level[0])] for r in rows} == {level[1]}
    # the same numbers as the page's own table, as it prints them
    value = header.index("Giá trị (%)" if lang == "vi" else "Value (%)")
    shown = {r[header.index("Mã" if lang == "vi" else "Code")]: r[value] for r in rows if r[value] is not None}
    cells = pq.read_table(demo_release_root / "demo-dong-thap" / "indices.parquet",
                          filters=[("year", "=", 2025), ("level", "=", "commune"), ("service", "=", "all"),
                                   ("indicator", "=", "sipas"), ("breakdown", "=", "all"),
                                   ("source", "=", "computed")]).to_pandas()
    cells = cells[cells["basis"] == "pooled"].set_index("unit_code")["value"].dropna()
    assert shown and all(abs(shown[c] - cells[c]) <= 0.005 + 1e-9 for c in shown)
    assert all(f"{shown[c]:.2f}" == fmt.num(cells[c], "en") for c in shown)
    lines = csv_data.decode("utf-8-sig").splitlines()
    assert lines[0].strip('"') == block[0] and lines[len(block)] == ""
    full = next(f for k, f in deferred.items() if k.endswith("-indices.parquet"))()
    assert "vintage" in pq.read_table(io.BytesIO(full)).column_names


class _NoBrowser:
    """Stands in for the image renderer: the press kit's data files are what is under test."""

    def render(self, fig, width, height, scale=2, fmt="png"):
        return b"\x89PNG stub"


def test_press_kit_carries_the_views_own_download_files():
    """The press kit's CSV and XLSX are the ones under the page's buttons: labelled, rounded, with
    their provenance, not the raw frame the page was drawn from."""
    import zipfile

    import plotly.graph_objects as go

    from ui import press
    view = export.ViewDownload(FRAME, "vi", PROV, LABELS)
    data = press.press_kit(_NoBrowser(), [("f", go.Figure())], view, "Năm 2024\n", base="sipas-x")
    z = zipfile.ZipFile(io.BytesIO(data))
    assert z.read("sipas-x-data.csv") == view.csv()
    csv_text = z.read("sipas-x-data.csv").decode("utf-8-sig")
    assert "Tỉnh Đồng Tháp" in csv_text and "Giá trị (%)" in csv_text and "Nguồn: Sở Nội vụ" in csv_text
    book = openpyxl.load_workbook(io.BytesIO(z.read("sipas-x-data.xlsx")))
    cells = [c.value for row in book.active.iter_rows() for c in row if c.value is not None]
    assert "Tiếp cận dịch vụ" in " ".join(map(str, cells)) and "r1" not in [str(c) for c in cells[-20:]]


def test_key_numbers_on_the_english_page_are_vietnamese_to_their_source_line():
    """The key-numbers paragraph is always Vietnamese: its source line too (it read 'Nguồn: Source: ...')."""
    at = open_page("pages/overview.py", lang="en", year="2024", unit="87")
    assert not errors(at)
    texts = [c.value for c in at.code if "Năm 2024" in (c.value or "")]
    assert texts, "the key numbers paragraph is on the page"
    assert "Nguồn:" in texts[0] and "Source:" not in texts[0]
