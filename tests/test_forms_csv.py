"""The CSV read by Arrow (dictionary-encoded columns) gives exactly the cells, rows and messages of
pandas' parser, which reads every file Arrow would read differently; the rules that work on each
distinct value (or combination of values) spread their results to the right rows."""
import numpy as np
import pytest

from sipas_data.forms import read as read_stage
from sipas_data.forms.cells import Cells, distinct, per_combination
from sipas_data.importer import ImportFileError, read_forms

pytestmark = pytest.mark.unit

HEADER = "form_id,year,province_code,district_code,commune_code,service,agency_level,access_1,access_2"
ROW = "{id},2024,87,866,29869,marriage,commune,{a},{b}"


def _grid(path):
    """The cells of a CSV as lists of text (header row first), through the read stage."""
    header, cells, _, _, _ = read_stage._cells(path)
    return [[h, *c.rows()] for h, c in zip(header, cells)]


def _pandas_only(monkeypatch):
    monkeypatch.setattr(read_stage, "_arrow_csv", lambda *a: None)


TRICKY = {
    "quote inside a cell": b'a,b\n1,x"y\n2,"p""q"\n',
    "text after a closing quote": b'a,b\n1,"xy"z\n',
    "a line break inside quotes": b'a,b\n1,"x\ny"\n',
    "CRLF": b"a,b\r\n1,2\r\n",
    "CR only": b"a,b\r1,2\r3,4\r",
    "blank lines": b"a,b\n1,2\n\n3,4\n\n",
    "BOM": b"\xef\xbb\xbfa,b\n1,2\n",
    "two BOMs": b"\xef\xbb\xbf\xef\xbb\xbfa,b\n1,2\n",
    "no final line break": b"a,b\n1,2",
    "semicolons": b"a;b\n1,5;2\n",
    "tabs": b"a\tb\n1\t2\n",
    "NA and null stay text": b"a,b\nNA,null\nN/A,\n",
    "a short row": b"a,b\n1\n2,3\n",
    "spaces only on a line": b"a,b\n1,2\n   \n",
    "header only": b"a,b\n",
    "header only, quoted": b'a,"b"\n',
    "a line break in a quoted header": b'"a\nb",c\n1,2\n',
    "a header typed twice, one left empty": b"a,a,,b\n1,2,3,4\n,,x,\n",
    # a first form longer than the block the header is read from, and than Arrow's block
    "a row longer than a block": b"a,b\n1," + b"x" * (3 << 19) + b"\n2,3\n",
    "a header of numbers": b"01,2024,1.0\n1,2,3\n",
    # columns of one-byte cells in the first block, read as bytes: one with a longer cell, one
    # with a tick (three bytes of UTF-8) further on, one left empty throughout
    "one-byte cells, then longer ones": b"a,b,c\n" + b"1,x,\n" * 20000 + b"12,\xe2\x9c\x93,\n5,,\n",
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_arrow_cells_are_pandas_cells(tmp_path, monkeypatch, name):
    path = tmp_path / "f.csv"
    path.write_bytes(TRICKY[name])
    fast = _grid(path)
    _pandas_only(monkeypatch)
    assert fast == _grid(path)


def test_arrow_reads_the_common_file_and_pandas_the_odd_ones(tmp_path):
    ok = tmp_path / "ok.csv"
    ok.write_text(HEADER + "\n" + ROW.format(id="F1", a=4, b=5) + "\n", encoding="utf-8")
    head, quotes = read_stage._scan(ok)
    header, cells = read_stage._arrow_csv(ok, head, quotes)
    assert header == HEADER.split(",") and [c.rows()[0] for c in cells][:3] == ["F1", "2024", "87"]
    # the header is not among the columns' values: only the forms' texts are checked
    assert [list(c.values) for c in cells][:3] == [["F1"], ["2024"], ["87"]]
    for name in ("a short row", "two BOMs"):
        odd = tmp_path / "odd.csv"
        odd.write_bytes(TRICKY[name])
        head, quotes = read_stage._scan(odd)
        assert read_stage._arrow_csv(odd, head, quotes) is None, name
    long = tmp_path / "long.csv"
    long.write_bytes(TRICKY["a row longer than a block"])
    assert read_stage._arrow_csv(long, *read_stage._scan(long)) is not None
    left_open = tmp_path / "open.csv"
    left_open.write_bytes(b'a,b\n1,"xy\n2,3\n')      # a quote left open runs to the end of the file
    head, quotes = read_stage._scan(left_open)
    assert read_stage._arrow_csv(left_open, head, quotes) is None


@pytest.mark.parametrize("data, message", [
    (b'form_id,year\n1,"xy\n', "EOF inside string"),
    (b"form_id,year\n1,2,3\n", "row 2 has 3 cells but the header has 2"),
    (b"form_id,year\n1,\xff\n", "not UTF-8 or UTF-16 (byte 16)"),
    (b"form_id,\xffyear\n1,2\n", "not UTF-8 or UTF-16 (byte 9)"),
])
def test_unreadable_csv_keeps_its_message(tmp_path, data, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_forms(path)


def _forms(rows: list[str]) -> str:
    return HEADER + "\n" + "\n".join(rows) + "\n"


def test_import_is_the_same_through_arrow_and_pandas(tmp_path, monkeypatch):
    rows = [ROW.format(id=f"F{i}", a=a, b=b) for i, (a, b) in enumerate(
        [(4, 5), (" 3 ", "\"4,5\""), ("7", "x"), ("", "KTL"), ("\"4,0\"", "TRUE"), (2, 1)])]
    rows += [ROW.format(id="F0", a=4, b=5), ",,,,,,,,", ROW.format(id="F9", a=1, b=1).replace("87,", "99,")]
    path = tmp_path / "forms.csv"
    path.write_text(_forms(rows), encoding="utf-8")
    fast = read_forms(path)
    _pandas_only(monkeypatch)
    slow = read_forms(path)
    assert fast.summary() == slow.summary()
    assert fast.accepted.equals(slow.accepted)
    assert list(fast.accepted.dtypes) == list(slow.accepted.dtypes)
    assert fast.rejects.equals(slow.rejects)
    # worked by hand: F2 (7 and x), F4 (TRUE), the repeated F0, F9's province 99 are rejected;
    # the blank line is not a form
    assert fast.rows_read == 8
    assert sorted(fast.rejects["form_id"]) == ["F0", "F2", "F4", "F9"]
    by_id = fast.rejects.set_index("form_id")["errors"]
    assert by_id["F2"] == ("access_1: 7 is outside the answer scale 1–5; access_2: 'x' is not an "
                           "answer (expected 1–5; empty, 0 or 'không trả lời' for no answer)")
    assert by_id["F0"] == "form_id: duplicate of row 2 (the same form entered twice)"
    assert list(fast.rejects.set_index("form_id").loc[["F2", "F9"], "row"]) == [4, 10]
    got = fast.accepted.set_index("form_id")
    assert got.loc["F1", "access_1"] == 3
    assert got["access_2"].isna()["F1"] and got["access_2"].isna()["F3"]
    assert got["access_1"].isna()["F3"]
    assert got.loc["F5", "access_1"] == 2 and str(got["access_1"].dtype) == "Int8"


def test_distinct_combinations_and_their_rows():
    a = Cells(np.array([0, 1, 0, 1, 0]), np.array(["x", "y"], dtype=object))
    b = Cells(np.array([2, 2, 0, 2, 2]), np.array([1, None, 3], dtype=object))
    codes, combos = distinct(a, b)
    assert combos == [("x", 3), ("y", 3), ("x", 1)]
    assert list(codes) == [0, 1, 2, 1, 0]
    joined = per_combination([a, b], lambda s, n: f"{s}{n}")
    assert list(joined.rows()) == ["x3", "y3", "x1", "y3", "x3"]
    first, second = per_combination([a, b], lambda s, n: (s, n * 2), width=2)
    assert list(second.rows()) == [6, 6, 2, 6, 6] and list(first.rows()) == ["x", "y", "x", "y", "x"]


def test_distinct_combinations_of_few_values_among_many_rows():
    """Fewer possible combinations than rows (the common case) are found by a table of them all:
    the same codes and combinations, in order of first appearance, as by hashing the rows."""
    a = Cells(np.array([1, 1, 0, 1, 0, 0, 1], dtype=np.int8), np.array(["x", "y"], dtype=object))
    b = Cells(np.array([0, 0, 0, 1, 0, 0, 0], dtype=np.int8), np.array([7, None, "unused"], dtype=object))
    codes, combos = distinct(a, b)
    assert combos == [("y", 7), ("x", 7), ("y", None)]
    assert list(codes) == [0, 0, 1, 2, 1, 1, 0]


def test_cells_of_values_not_all_used():
    c = Cells(np.array([2, 2, 0], dtype=np.int8), np.array(["a", "unused", " b "], dtype=object))
    assert list(c.eq(" b ")) == [True, True, False]
    assert list(c.map(str.strip).rows()) == ["b", "b", "a"]
    vals, errs = c.parse(lambda v: (None, f"bad {v}") if v == "a" else (v.strip(), None))
    assert list(vals.rows()) == ["b", "b", None] and list(errs.rows()) == [None, None, "bad a"]
    assert list(c.take(np.array([False, True, True])).rows()) == [" b ", "a"]


def test_strip_and_blank_are_pythons_on_every_kind_of_space():
    spaces = "".join(ch for ch in map(chr, range(0x110000)) if ch.isspace())
    values = np.array(["a", f"{spaces}b{spaces}", spaces, "", " c", "d ", 7, None], dtype=object)
    c = Cells(np.arange(len(values), dtype=np.int8), values)
    assert list(c.stripped().rows()) == [str(v).strip() for v in values]
    assert list(c.nonblank()) == [bool(str(v).strip()) for v in values]
    assert list(c.eq("")) == [False, False, False, True, False, False, False, False]
    plain = Cells(np.array([1, 0, 1], dtype=np.int8), np.array(["x", "y"], dtype=object))
    assert plain.stripped() is plain       # nothing to strip: the same cells, Arrow text kept


@pytest.mark.parametrize("other_year", ["2023", "2018"])
def test_one_file_of_distinct_ids_is_typed_in_its_final_order(tmp_path, monkeypatch, other_year):
    """A single file whose accepted form ids all differ skips the duplicates stage and is typed
    already sorted: the frame is the one the duplicates stage and the sort give. Two years in a
    row place the rows by a table of their keys, years far apart sort them."""
    import sipas_data.forms as forms_stage

    ids = ["F10", "F9", "F2", "Đ1", "F1", "A3", "F11"]
    rows = [ROW.format(id=i, a=k % 5 + 1, b=(k * 3) % 6) for k, i in enumerate(ids)]
    rows[3] = rows[3].replace("2024", other_year)
    rows.append(ROW.format(id="F5", a=9, b=1))            # rejected: 9 is off the scale
    rows.append(ROW.format(id="", a=1, b=1))              # rejected: no form id
    path = tmp_path / "forms.csv"
    path.write_text(_forms(rows), encoding="utf-8")
    found, final_order = [], forms_stage._final_order
    monkeypatch.setattr(forms_stage, "_final_order", lambda forms: found.append(final_order(forms)) or found[-1])
    fast = read_forms(path)
    assert found[0] is not None     # the quick way was taken
    monkeypatch.setattr(forms_stage, "_final_order", lambda forms: None)
    slow = read_forms(path)
    assert fast.summary() == slow.summary()
    assert fast.accepted.equals(slow.accepted) and fast.accepted.index.equals(slow.accepted.index)
    assert list(fast.accepted.dtypes) == list(slow.accepted.dtypes)
    assert fast.rejects.equals(slow.rejects)
    # by hand: the other year first, then 2024 by code point (digits before letters, "F10" before "F2")
    assert list(fast.accepted["form_id"]) == ["Đ1", "A3", "F1", "F10", "F11", "F2", "F9"]
    assert list(fast.accepted["access_1"]) == [4, 1, 5, 1, 2, 3, 2]
    assert len(fast.rejects) == 2 and fast.rows_read == 9


@pytest.mark.parametrize("again, quick, rejected", [
    (ROW.format(id="F1", a=9, b=1), True, 1),                       # on a row rejected anyway
    (ROW.format(id="F1", a=1, b=1).replace("2024", "2023"), False, 0),  # in another year
    (ROW.format(id="F1", a=1, b=1), False, 1),                      # typed twice
])
def test_form_ids_read_one_per_row_and_typed_again(tmp_path, monkeypatch, again, quick, rejected):
    """A CSV's form ids are read as they are, one value per row: an id typed again on a rejected
    row still lets the file be typed in its final order, one typed again on an accepted row sends
    it to the duplicates stage; the import is the one pandas' parser gives."""
    import sipas_data.forms as forms_stage

    path = tmp_path / "forms.csv"
    path.write_text(_forms([ROW.format(id=i, a=2, b=3) for i in ("F2", "F1", "F3")] + [again]),
                    encoding="utf-8")
    found, final_order = [], forms_stage._final_order
    monkeypatch.setattr(forms_stage, "_final_order", lambda forms: found.append(final_order(forms)) or found[-1])
    fast = read_forms(path)
    assert (found[0] is not None) == quick
    _pandas_only(monkeypatch)
    slow = read_forms(path)
    assert fast.summary() == slow.summary()
    assert fast.accepted.equals(slow.accepted) and fast.rejects.equals(slow.rejects)
    assert len(fast.rejects) == rejected and len(fast.accepted) == 4 - rejected


def test_scan_counts_every_quote_from_the_first_one(tmp_path, monkeypatch):
    """The quotes are counted in blocks from the first one on; a file without one is not counted."""
    monkeypatch.setattr(read_stage, "_COUNT_BLOCK", 4)
    path = tmp_path / "q.csv"
    path.write_bytes(b'a,b\n1,2\n3,"x""y"\n4,"z"\n')      # worked by hand: 6 quotes, the first at 12
    head, quotes = read_stage._scan(path)
    assert (head, quotes) == (path.read_bytes(), 6)
    path.write_bytes(b"a,b\n1,2\n")
    assert read_stage._scan(path) == (b"a,b\n1,2\n", 0)
    path.write_bytes(b"")
    assert read_stage._scan(path) == (b"", 0)


def test_scan_reads_a_file_that_cannot_be_mapped(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("not mappable")
    monkeypatch.setattr(read_stage.mmap, "mmap", refuse)
    monkeypatch.setattr(read_stage, "_COUNT_BLOCK", 4)
    path = tmp_path / "q.csv"
    path.write_bytes(b'a,b\n1,2\n3,"x""y"\n4,"z"\n')
    assert read_stage._scan(path) == (path.read_bytes(), 6)


def test_the_sources_sha256_is_the_files(tmp_path):
    import hashlib

    path = tmp_path / "forms.csv"
    path.write_text(_forms([ROW.format(id="F1", a=4, b=5)]), encoding="utf-8")
    assert read_forms(path).sources[0]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_cells_of_arrow_text_answer_as_their_python_strings():
    """Cells made from Arrow text alone test, strip and give rows as those of Python strings,
    without turning every value into one; only ``values`` does."""
    import pyarrow as pa

    from sipas_data.forms.cells import PYTHON_SPACES

    assert PYTHON_SPACES == "".join(ch for ch in map(chr, range(0x110000)) if ch.isspace())
    texts = ["a", f"{PYTHON_SPACES}b{PYTHON_SPACES}", PYTHON_SPACES, "", " c", "d ", "x\u200by"]
    texts += [f"{ch}q" for ch in PYTHON_SPACES] + [f"q{ch}" for ch in PYTHON_SPACES]
    codes = np.array([*range(len(texts))][::-1] + [0, 3], dtype=np.int8)
    lazy, eager = Cells(codes, None, pa.array(texts)), Cells(codes, np.array(texts, dtype=object))
    for value in ("", "a", " c"):
        assert list(lazy.eq(value)) == list(eager.eq(value))
    assert list(lazy.nonblank()) == list(eager.nonblank())
    assert list(lazy.rows(codes > 3)) == list(eager.rows(codes > 3))
    assert list(lazy.stripped().rows()) == list(eager.stripped().rows())
    # U+200B (zero width space) is not a space to Python: nothing to strip, no string made
    plain = Cells(np.array([0, 1, 1], dtype=np.int8), None, pa.array(["x", "y\u200b"]))
    assert plain.stripped() is plain and plain._values is None and plain.size == 2
    for ch in PYTHON_SPACES:
        assert Cells(np.array([0]), None, pa.array([f"x{ch}"])).stripped().rows()[0] == "x"
    assert list(plain.values) == ["x", "y\u200b"] and plain._values is not None
