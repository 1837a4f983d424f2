"""Names from the data stay inert text wherever the app hands them out.

* Formula injection (OWASP "CSV Injection"): a unit name starting with ``=``, ``+``, ``-``, ``@``,
  a tab or a carriage return never becomes a live formula in any download (a view's CSV and XLSX
  on every page, their provenance lines and title block, the press kit's CSV and XLSX): XLSX cells
  are quote-prefixed text, CSV cells get a leading single quote; numbers stay numbers.
* Markdown injection: the chart tables (one Markdown table each, pages/_common.markdown_table)
  show hostile names as the plain text they are, in AppTest and in a real browser.
"""
import csv
import hashlib
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from apptest import errors, open_page
from browser import NEEDS_CHROMIUM, app_server, chromium
from hostile import build_hostile, hostile_name

from ui import export, fmt, press

HYPERLINK = '=HYPERLINK("http://evil","x")'
AT_SUM = "@SUM(1)"
FORMULA_ID = "formulas"
#: units named exactly like the payloads (the rest carry a payload and their code)
EXACT = {"868": HYPERLINK, "870": AT_SUM}
TRIGGERS = ["=1+2", "+1+2", "-1+2", "@SUM(1)", "\t=1+2", "\r=1+2"]


def formula_name(code: str, i: int) -> str:
    return EXACT.get(code) or f"{(HYPERLINK, AT_SUM)[i % 2]} {code}"


def build_named(demo_root: Path, root: Path, release_id: str, name_of, **manifest) -> Path:
    """A copy of the demo release (through tests/hostile.py) whose units are named ``name_of(code,
    i)``, with ``manifest`` fields set and the checksums recomputed so the app serves it."""
    dst = build_hostile(demo_root, root, release_id=release_id)
    units = pq.read_table(dst / "units.parquet")
    names = pa.array([name_of(c, i) for i, c in enumerate(units.column("code").to_pylist())], pa.string())
    for col in ("name", "short_name"):
        if col in units.column_names:
            units = units.set_column(units.schema.get_field_index(col), col, names)
    pq.write_table(units, dst / "units.parquet")
    m = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    m.update(manifest)
    for name in m["files"]:
        p = dst / name
        m["files"][name] = {"sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "bytes": p.stat().st_size}
    (dst / "manifest.json").write_text(json.dumps(m, ensure_ascii=False, indent=1), encoding="utf-8")
    return dst


# ---------------------------------------------------------------------------------------------
# what a spreadsheet would see

def xlsx_texts(data: bytes) -> list[str]:
    """Every text value of every sheet; fails on any formula cell or unprotected formula-like text."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    texts = []
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", f"formula in {ws.title}!{c.coordinate}: {c.value!r}"
                if isinstance(c.value, str):
                    assert c.data_type in ("s", "inlineStr"), (ws.title, c.coordinate, c.value, c.data_type)
                    if export.formula_like(c.value):
                        assert c.quotePrefix, f"no quote prefix on {ws.title}!{c.coordinate}: {c.value!r}"
                    texts.append(c.value)
    return texts


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def csv_cells(data: bytes) -> list[str]:
    """Every CSV field; fails on any field a spreadsheet would read as a formula."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    cells = [c for r in rows for c in r]
    bad = [c for c in cells if export.formula_like(c) and not _number(c)]
    assert not bad, bad[:5]
    return cells


def assert_names_inert(files: dict[str, bytes], names=(HYPERLINK, AT_SUM)) -> None:
    """The CSV and XLSX of one download path, with the payload names in them, made inert."""
    csvs = [v for k, v in files.items() if k.endswith(".csv")]
    xlsxs = [v for k, v in files.items() if k.endswith(".xlsx")]
    assert csvs and xlsxs, sorted(files)
    for data in xlsxs:
        texts = xlsx_texts(data)
        assert any(t.startswith(names) for t in texts), texts[:20]
        for t in texts:  # shown as the name itself, never with the quote as part of it
            assert not t.startswith("'" + HYPERLINK[:1]) and not t.startswith("'@")
    for data in csvs:
        cells = csv_cells(data)
        assert any(c.startswith(tuple("'" + n for n in names)) for c in cells), cells[:20]


# ---------------------------------------------------------------------------------------------
# the shared writer

def test_every_owasp_trigger_is_neutralised_and_numbers_stay_numbers():
    df = pd.DataFrame({"code": [str(i) for i in range(len(TRIGGERS))], "name": TRIGGERS,
                       "value": [-3.5 - i for i in range(len(TRIGGERS))], "n": list(range(len(TRIGGERS)))})
    rows = list(csv.reader(io.StringIO(export.csv_bytes(df).decode("utf-8-sig"), newline="")))
    assert rows[0] == ["code", "name", "value", "n"]
    assert [r[1] for r in rows[1:]] == ["'" + t for t in TRIGGERS]
    assert [float(r[2]) for r in rows[1:]] == df["value"].tolist()
    back = pd.read_csv(io.BytesIO(export.csv_bytes(df)))
    assert back["value"].tolist() == df["value"].tolist() and back["n"].tolist() == df["n"].tolist()

    wb = openpyxl.load_workbook(io.BytesIO(export.xlsx_bytes(df, notes=["=1+2 (note)"])))
    ws = wb["SIPAS"]
    for r, t in enumerate(TRIGGERS, start=2):
        cell = ws.cell(row=r, column=2)
        # (XML reads a carriage return back as a line feed: the text is still the text)
        assert (cell.value, cell.data_type, cell.quotePrefix) == (t.replace("\r", "\n"), "s", True)
        num = ws.cell(row=r, column=3)
        assert num.data_type == "n" and num.value == df["value"][r - 2]
    assert (wb["notes"]["A2"].value, wb["notes"]["A2"].data_type) == ("=1+2 (note)", "s")
    xlsx_texts(export.xlsx_bytes(df, notes=["=1+2 (note)"]))


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_the_provenance_title_block_is_inert(trigger):
    # a release title, place or service from the data may open a line of the block (the title
    # line is the page's, but every field is protected alike)
    prov = export.Provenance(title=trigger, indicator=trigger, place=trigger, year="2024", service=trigger,
                             source=trigger, release=trigger, demo=True)
    frame = pd.DataFrame({"year": [2024], "code": ["868"], "name": [HYPERLINK], "value": [80.5], "rank": [1.0]})
    lines = prov.lines("vi")
    assert lines[0] == trigger and lines[5] == trigger  # the title and the source line open with it
    rows = list(csv.reader(io.StringIO(export.reader_csv(frame, "vi", prov).decode("utf-8-sig"), newline="")))
    assert rows[0] == ["'" + trigger] and rows[5] == ["'" + trigger]
    csv_cells(export.reader_csv(frame, "vi", prov))
    data = export.reader_xlsx(frame, "vi", prov)
    texts = xlsx_texts(data)  # no formula cell, every formula-like text quote-prefixed
    ws = openpyxl.load_workbook(io.BytesIO(data))["SIPAS"]
    for r in (1, 6):
        cell = ws.cell(row=r, column=1)
        assert (cell.value, cell.data_type, cell.quotePrefix) == (trigger.replace("\r", "\n"), "s", True)
    assert HYPERLINK in texts


def test_a_name_with_a_semicolon_cannot_start_a_new_csv_cell():
    # in a locale whose list separator is ";" (vi-VN), an unquoted "x;=1+2" would be two cells
    data = export.csv_bytes(pd.DataFrame({"name": ["Xã A;=1+2"], "value": [1.5]}))
    assert '"Xã A;=1+2"' in data.decode("utf-8-sig")


def test_ordinary_text_and_the_callers_frame_are_untouched():
    df = pd.DataFrame({"name": ["Thành phố Hồng Ngự", "=x"], "value": [75.889905, -1.0]})
    before = df.copy()
    export.csv_bytes(df)
    export.xlsx_bytes(df)
    pd.testing.assert_frame_equal(df, before)
    back = pd.read_excel(io.BytesIO(export.xlsx_bytes(df)))
    assert back["name"].tolist() == ["Thành phố Hồng Ngự", "=x"]


class _StubRenderer:
    """Stands in for the browser: the press kit's spreadsheets are what is under test here."""

    def render(self, fig, width, height, scale=press.SCALE, fmt="png"):
        return b"\x89PNG stub"


def test_press_kit_spreadsheets_are_inert():
    import plotly.graph_objects as go
    frame = pd.DataFrame({"code": ["868", "870"], "name": [HYPERLINK, AT_SUM], "value": [80.5, -3.5]})
    data = press.press_kit(_StubRenderer(), [("f", go.Figure())], frame, "Năm 2024\n", base="sipas-x",
                           notes=[HYPERLINK])
    z = zipfile.ZipFile(io.BytesIO(data))
    files = {n: z.read(n) for n in z.namelist()}
    assert_names_inert(files)
    wb = openpyxl.load_workbook(io.BytesIO(files["sipas-x-data.xlsx"]))
    assert [c.value for c in wb["SIPAS"]["B"]][1:] == [HYPERLINK, AT_SUM]
    assert wb["SIPAS"]["C3"].value == -3.5 and wb["SIPAS"]["C3"].data_type == "n"
    rows = list(csv.reader(io.StringIO(files["sipas-x-data.csv"].decode("utf-8-sig"), newline="")))
    assert [r[1] for r in rows[1:]] == ["'" + HYPERLINK, "'" + AT_SUM] and rows[2][2] == "-3.5"


# ---------------------------------------------------------------------------------------------
# every download the pages offer (the files the buttons would hand over, made as on a click)

@pytest.fixture(scope="module")
def formula_root(demo_release_root, tmp_path_factory):
    root = tmp_path_factory.mktemp("formula_releases")
    build_named(demo_release_root, root, FORMULA_ID, formula_name, title=AT_SUM, publisher=HYPERLINK)
    return root


@pytest.mark.parametrize("page,params", [
    ("pages/overview.py", {"year": "2024", "unit": "868"}),
    ("pages/map.py", {"year": "2024", "unit": "87", "level": "district"}),
    ("pages/services.py", {"year": "2024", "unit": "87"}),
    ("pages/methodology.py", {"year": "2024", "unit": "87", "level": "district"}),
])
def test_view_downloads_are_inert(formula_root, monkeypatch, deferred, page, params):
    monkeypatch.setenv("SIPAS_RELEASES", str(formula_root))
    at = open_page(page, **params, release=FORMULA_ID)
    assert not errors(at), errors(at)
    files = {k: f() for k, f in deferred.items() if k.endswith((".csv", ".xlsx"))}
    assert_names_inert(files)


def test_press_kit_download_of_a_page_is_inert(formula_root, monkeypatch, deferred):
    # the browser is stubbed (no images are checked here), so the page offers its press kit anywhere
    monkeypatch.setenv("SIPAS_RELEASES", str(formula_root))
    monkeypatch.setattr(press.Renderer, "check", lambda self: "/stub/chromium")
    monkeypatch.setattr(press.Renderer, "render", _StubRenderer.render)
    at = open_page("pages/overview.py", year="2024", unit="868", release=FORMULA_ID)
    assert not errors(at), errors(at)
    kit = next(f for k, f in deferred.items() if k.endswith("-press-kit.zip"))
    z = zipfile.ZipFile(io.BytesIO(kit()))
    files = {n: z.read(n) for n in z.namelist()}
    assert_names_inert(files)


# ---------------------------------------------------------------------------------------------
# Markdown in the chart tables

# What Markdown would render even from escaped text, on top of tests/hostile.py's name: autolink
# literals (e-mail, www., an upper-case scheme) and Streamlit's icons
LINKISH = " x@evil.example www.evil.example HTTPS://evil.example/a :material/home:"
MARKDOWN_ID = "markdown"


def markdown_name(code: str, i: int = 0) -> str:
    return hostile_name(code) + LINKISH


@pytest.fixture(scope="module")
def markdown_root(demo_release_root, tmp_path_factory):
    root = tmp_path_factory.mktemp("md_releases")
    shutil.copytree(demo_release_root / "demo-dong-thap", root / "demo-dong-thap")
    build_named(demo_release_root, root, MARKDOWN_ID, markdown_name)
    return root


# Markdown that would render (bold, emphasis, links, images, Streamlit colour, KaTeX, code, HTML)
RAW = ["<img", "](", ":red[", "**b**", "_i_", "`c`", "$x^2$", "&lt;b", "# H", "| t |"]
# and what renders even when escaped, unless broken by a word joiner
LINKS = re.compile(r"(?i)https?\\?:\\?/|www\\?\.|@[\w-]|:\\?material")


CELL = re.compile(r"(?<!\\)\|")  # a cell boundary: a "|" without the backslash that makes it text


def _table_strings(at) -> list[str]:
    """Every heading and cell of the page's chart tables (the Markdown tables in its expanders)."""
    out = []
    for block in at.markdown:
        lines = str(block.value).split("\n")
        if len(lines) < 3 or not lines[1].startswith("|---"):
            continue
        for line in lines[:1] + lines[2:]:
            cells = CELL.split(line)
            assert cells[0] == "" and cells[-1] == "", line   # nothing outside the row's own bars
            out += [c.strip() for c in cells[1:-1]]
    return out


def test_a_markdown_table_keeps_a_hostile_cell_in_its_cell():
    from pages._common import markdown_table
    hostile = "A | b | c\n# H <img src=x> **b** :material/home: www.x.vn"
    text = markdown_table(pd.DataFrame({"Tên | x": [hostile, "B"], "Giá trị": ["80,50", "–"]}))
    lines = text.split("\n")
    assert lines[1] == "|---|---:|" and len(lines) == 4       # a heading, the rule, one line a row
    assert [len(CELL.split(x)) - 2 for x in lines] == [2, 2, 2, 2]  # two cells on every line
    assert CELL.split(lines[2])[1].strip() == fmt.md(hostile)
    assert markdown_table(pd.DataFrame({"a": []})) == ""


@pytest.mark.parametrize("page,params", [
    ("pages/compare.py", {"year": "2024", "units": "868,870,866"}),
    ("pages/locality.py", {"year": "2024", "unit": "868"}),
])
def test_chart_tables_show_names_as_plain_text(markdown_root, monkeypatch, page, params):
    monkeypatch.setenv("SIPAS_RELEASES", str(markdown_root))
    at = open_page(page, **params, release=MARKDOWN_ID)
    assert not errors(at), errors(at)
    strings = _table_strings(at)
    assert strings, "the page should draw its chart tables"
    # the name is there, escaped character by character (the word joiners aside): Markdown shows
    # exactly the text
    escaped = fmt.md(markdown_name("868")).replace("\u2060", "")
    assert any(escaped in s.replace("\u2060", "") for s in strings), strings[:10]
    for s in strings:
        for raw in RAW:  # present only with a backslash before its special characters
            assert not re.search(r"(?<!\\)" + re.escape(raw), s), f"unescaped {raw!r} in {s[:200]!r}"
        assert not LINKS.search(s), f"a link or icon pattern in {s[:300]!r}"


@NEEDS_CHROMIUM
def test_chart_tables_show_names_as_plain_text_in_the_browser(markdown_root, tmp_path_factory):
    pytest.importorskip("playwright.sync_api")
    geo = tmp_path_factory.mktemp("geo_empty")
    with app_server(markdown_root, geo) as url, chromium() as b:
        pg = b.new_page(viewport={"width": 1400, "height": 1000})
        pg.goto(f"{url}/compare?year=2024&units=868,870,866&release={MARKDOWN_ID}")
        pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning'] h3", timeout=90_000)
        pg.get_by_text("Bảng số liệu của biểu đồ").first.click()
        table = pg.locator("[data-testid='stExpanderDetails'] [data-testid='stMarkdownContainer'] table").first
        table.wait_for(timeout=30_000)
        for sel in ("img", "a", "strong", "em", "code", ".katex", "h1", "[role='img']", "span[style*='color']"):
            assert table.locator(sel).count() == 0, sel
        text = table.inner_text().replace("\u2060", "")
        for literal in ("<img src=x onerror=alert(1)>", "**b**", "_i_", "[link](javascript:alert(2))",
                        "![p](http://127.0.0.1:9/p.png)", ":red[red]", "$x^2$", "`c`", "&lt;b&gt;", LINKISH.strip()):
            assert literal in text, (literal, text[:400])


def test_xlsx_download_of_a_name_with_control_characters():
    # XML cannot carry most control characters (openpyxl refuses them): they become spaces, and
    # the download is still made
    data = export.xlsx_bytes(pd.DataFrame({"name": ["Xã\x07 A\x1b"], "value": [80.5]}), notes=["note\x01"])
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.active["A2"].value == "Xã  A " and wb.active["B2"].value == 80.5
    assert wb["notes"]["A2"].value == "note "
