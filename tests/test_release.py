"""Releases: atomic writing, listing, checksums, filtered reads; official figures; the CLI."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from handworked import forms
from sipas_data.build import build_release
from sipas_data.official import read_official
from sipas_data.release import INDICES, ReleaseError, list_releases, open_release, valid_release_id

ROOT = Path(__file__).resolve().parents[1]


def _build(out, **kw):
    return build_release(forms(), out, title="Thử nghiệm", publisher="Sở Nội vụ", inputs=[],
                         counts={"forms_read": 9}, threshold=2, **kw)


def test_release_has_manifest_with_checksums_and_reads_back(tmp_path):
    path = _build(tmp_path / "r1")
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["id"] == "r1" and manifest["demo"] is False
    assert set(manifest["files"]) >= {"indices.parquet", "units.parquet", "methodology/sipas-2017.json"}
    release = open_release("r1", tmp_path, verify=True)
    assert release.verify() == []
    sipas = release.read(year=2019, level="district", unit="866")
    assert len(sipas) == 1 and sipas.value.iloc[0] == pytest.approx(64.48611111111, abs=1e-9)
    communes = release.read(year=2019, level="commune", parent="866")
    assert sorted(communes.unit_code) == ["29000", "29001", "29002", "29003"]


def test_manifest_reads_back_as_the_typed_object_it_was_written_from(tmp_path):
    from sipas_data.contracts import Manifest

    path = _build(tmp_path / "r1")
    written = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    release = open_release("r1", tmp_path)
    m = release.manifest
    assert isinstance(m, Manifest) and m.id == "r1" and m.title == "Thử nghiệm" and m.demo is False
    assert m.years == [2019] and m.counts["forms_read"] == 9 and m.counts["cells"] > 0
    assert m.suppression_threshold == 2 and m.methodologies == ["sipas-2017"]
    # readers that index it as the JSON object get what the file says
    assert dict(m) == written and m == written and m.get("publisher") == "Sở Nội vụ"
    assert list_releases(tmp_path)[0].manifest == m


def test_manifest_of_an_earlier_build_reads_with_defaults_and_keeps_unknown_keys(tmp_path):
    path = _build(tmp_path / "r1")
    m = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    del m["title"], m["suppression_threshold"]
    m["written_by"] = "a later version"
    (path / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    release = open_release("r1", tmp_path, verify=True)
    assert release.title == "r1"  # a missing title reads as the id, as before
    assert "title" not in release.manifest and release.manifest.get("suppression_threshold") is None
    assert release.manifest["written_by"] == "a later version" and release.manifest.title == ""


@pytest.mark.parametrize("field, value, expected", [
    ("years", ["2019"], "a list of whole numbers"),
    ("files", ["indices.parquet"], "an object of files"),
    ("demo", "no", "true or false"),
    ("suppression_threshold", "30", "a whole number or null"),
])
def test_manifest_with_a_field_of_the_wrong_type_is_refused_by_name(tmp_path, field, value, expected):
    path = _build(tmp_path / "r1")
    m = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    m[field] = value
    (path / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(ReleaseError, match=f"r1: manifest field '{field}' should be {expected}"):
        open_release("r1", tmp_path)
    assert list_releases(tmp_path) == []  # not listed, so never served


def test_indices_file_holds_plain_text_and_statistics_for_every_filtered_column(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sipas_data.engine import INDEX_SCHEMA
    from sipas_data.release import FILTER_COLUMNS, slice_filters

    path = _build(tmp_path / "r1")
    # the engine hands the writer dictionary arrays; readers must still see plain strings
    assert pq.read_schema(path / INDICES).equals(INDEX_SCHEMA, check_metadata=False)
    assert pq.read_table(path / INDICES).column("indicator").type == pa.string()
    every = slice_filters(year=1, level="x", parent="x", unit="x", service="x", indicator="x", breakdown="x",
                          source="x", restated=True)
    assert {column for column, _, _ in every} == set(FILTER_COLUMNS)
    meta = pq.ParquetFile(path / INDICES).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    for column in FILTER_COLUMNS:  # row groups a slice does not need are skipped by these
        stats = meta.row_group(0).column(names.index(column)).statistics
        assert stats is not None and stats.has_min_max, column


def test_interrupted_write_leaves_previous_release_readable_and_unchanged(tmp_path):
    path = _build(tmp_path / "r1")
    before = {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}
    with pytest.raises(KeyboardInterrupt):
        build_release(forms(), tmp_path / "r1", title="changed", publisher="x", inputs=[], counts={},
                      threshold=1, _fail_after_files=True)
    after = {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}
    assert after == before
    assert [r.id for r in list_releases(tmp_path)] == ["r1"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]  # temp folder cleaned
    assert open_release("r1", tmp_path, verify=True).title == "Thử nghiệm"


def test_half_written_folder_is_never_listed(tmp_path):
    _build(tmp_path / "good")
    half = tmp_path / "half"
    half.mkdir()
    (half / INDICES).write_bytes(b"PAR1")  # no manifest yet
    (tmp_path / ".tmp-good-abc").mkdir()
    assert [r.id for r in list_releases(tmp_path)] == ["good"]


def test_replacement_interrupted_between_renames_is_recovered(tmp_path):
    path = _build(tmp_path / "r1")
    path.rename(tmp_path / ".old-r1-deadbeef")  # the new release never arrived
    assert [r.id for r in list_releases(tmp_path)] == ["r1"]


def test_corrupted_file_fails_verification(tmp_path):
    path = _build(tmp_path / "r1")
    with open(path / INDICES, "r+b") as f:
        f.seek(100)
        f.write(b"\x00\x01\x02")
    assert "indices.parquet does not match its checksum" in open_release("r1", tmp_path).verify()
    with pytest.raises(ReleaseError):
        open_release("r1", tmp_path, verify=True)


@pytest.mark.parametrize("bad", ["../etc", "a/b", ".hidden", "", "x" * 101, "r1;rm"])
def test_release_ids_cannot_escape_the_folder(tmp_path, bad):
    assert not valid_release_id(bad)
    with pytest.raises(ReleaseError):
        open_release(bad, tmp_path)


def test_official_rows_load_unchanged_beside_computed(tmp_path):
    csv = tmp_path / "official.csv"
    csv.write_text("year,level,unit_code,indicator,value,source\n"
                   "2019,country,VN,sipas,84.45,Bộ Nội vụ 2019\n"
                   "2019,province,87,sipas,86.1,Bộ Nội vụ 2019\n"
                   "2019,province,89,sipas,83.2,Bộ Nội vụ 2019\n", encoding="utf-8")
    off = read_official(csv)
    assert off.ok and off.rows_read == 3
    _build(tmp_path / "r", official=[off.rows])
    r = open_release("r", tmp_path)
    official = r.read(year=2019, source="official", level=None)
    assert dict(zip(official.unit_code, official.value)) == {"VN": 84.45, "87": 86.1, "89": 83.2}
    assert dict(zip(official.unit_code, official["rank"])) .get("87") == 1  # ranked among official rows
    computed = r.read(year=2019, level="province", source="computed")
    assert computed.value.iloc[0] == pytest.approx(64.48611111111, abs=1e-9)


@pytest.mark.parametrize("line, message", [
    ("2019,province,99,sipas,80,x", "unit_code: '99' is not a province code in force in 2019"),
    ("2019,district,999,sipas,80,x", "unit_code: '999' is not a district code in force in 2019"),
    ("2019,country,VN,element:policy_quality,80,x",
     "indicator: 'element:policy_quality' is not an indicator of sipas-2017"),
    ("2019,country,VN,sipas,180,x", "value: expected a percentage between 0 and 100, got 180"),
    ("2019,country,VN,sipas,abc,x", "value: expected a number, got 'abc'"),
    ("2019,region,VN,sipas,80,x", "level: expected one of country, province, district, commune, got 'region'"),
    ("2019,country,VN,sipas,80,", "source: required"),
    ("19,country,VN,sipas,80,x", "year: expected a four-digit year, got '19'"),
])
def test_official_bad_rows_are_rejected_with_row_and_column(tmp_path, line, message):
    csv = tmp_path / "o.csv"
    csv.write_text("year,level,unit_code,indicator,value,source\n2018,country,VN,sipas,82.99,BNV\n" + line + "\n",
                   encoding="utf-8")
    off = read_official(csv)
    assert off.rows_read == 2 and len(off.rows) + len(off.rejects) == 2
    assert list(off.rejects.row) == [3]
    assert message in off.rejects.errors.iloc[0]


def test_official_duplicate_row_is_rejected(tmp_path):
    csv = tmp_path / "o.csv"
    csv.write_text("year,level,unit_code,indicator,value,source\n2018,country,VN,sipas,82.99,BNV\n"
                   "2018,country,VN,sipas,82.99,BNV\n", encoding="utf-8")
    off = read_official(csv)
    assert len(off.rows) == 1 and "duplicate of row 2" in off.rejects.errors.iloc[0]


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "sipas_data", *args], cwd=cwd, capture_output=True,
                          text=True, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})


def test_cli_validate_build_and_list(tmp_path):
    example = ROOT / "sipas_data" / "templates" / "vi-du-phieu-sipas-2022.xlsx"
    ok = _cli("validate", str(example), cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = tmp_path / "bad.csv"
    frame = pd.read_excel(example, dtype=str)
    frame.iloc[0, frame.columns.get_loc(frame.columns[0])] = frame.iloc[1, 0]  # duplicate form id
    frame.to_csv(bad, index=False, encoding="utf-8-sig")
    res = _cli("validate", str(bad), cwd=tmp_path)
    assert res.returncode == 1 and "row 3" in res.stdout and (tmp_path / "bad.rejects.csv").exists()
    out = tmp_path / "releases" / "2024-dong-thap"
    built = _cli("build", "--responses", str(example), "--out", str(out), "--publisher", "Sở Nội vụ Đồng Tháp",
                 "--threshold", "10", cwd=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    listed = _cli("releases", "--root", str(out.parent), cwd=tmp_path)
    assert "2024-dong-thap" in listed.stdout and "forms accepted 20 of 20" in listed.stdout
    missing = _cli("validate", str(tmp_path / "nope.csv"), cwd=tmp_path)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_demo_release_is_marked_and_has_official_averages(demo_release_root):
    r = open_release(root=demo_release_root, verify=True)
    assert r.is_demo and r.id == "demo-dong-thap"
    assert r.years == list(range(2018, 2026))
    national = r.read(level="country", source="official", year=None)
    assert dict(zip(national.year, national.value)) == {2018: 82.99, 2019: 84.45, 2020: 85.48, 2022: 80.08,
                                                        2023: 82.66, 2024: 83.94}
    units = r.units()
    districts = units[(units.vintage == "2019") & (units.level == "district")]
    assert len(districts) == 12 and "Thành phố Hồng Ngự" in set(districts.name)
    communes_2025 = r.read(year=2025, level="commune", parent="82")
    assert len(communes_2025) == 102
    # some small communes are suppressed, most are not
    c2024 = r.read(year=2024, level="commune")
    assert 0 < c2024.suppressed.sum() < len(c2024) / 4
    restated = r.read(year=2024, level="commune", restated=True)
    assert set(restated.basis) == {"restated"} and set(restated.parent_code) == {"82"}


def test_units_named_are_the_same_from_dictionary_batches_and_from_plain_ones():
    """The build marks the units on the engine's shared dictionaries; batches of plain strings
    (official rows) are grouped instead. Both give every (vintage, level, code) a published row
    names, a restated row on the latest vintage's units whatever its year."""
    import duckdb
    import pyarrow as pa

    from sipas_data.build import UsedUnits
    from sipas_data.engine import INDEX_SCHEMA, Restatement, compute_batches

    restate = Restatement(communes=pd.DataFrame({"old_commune_code": ["29000"], "new_commune_code": ["30001"]}),
                          provinces=pd.DataFrame({"old_province_code": ["87"], "new_province_code": ["82"]}),
                          before_year=2025)
    batches = list(compute_batches(duckdb.connect(), forms(), threshold=1, restate=restate))
    assert all(pa.types.is_dictionary(b.schema.field("unit_code").type) for b in batches)
    by_marks, by_strings = UsedUnits(), UsedUnits()
    for batch in batches:
        by_marks.add(batch)
        by_strings.add(batch.cast(INDEX_SCHEMA))
    marked = by_marks.frame().sort_values(["vintage", "level", "code"]).reset_index(drop=True)
    grouped = by_strings.frame().sort_values(["vintage", "level", "code"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(marked, grouped)
    named = set(marked.itertuples(index=False, name=None))
    assert {("2019", "province", "87"), ("2019", "district", "866"), ("2019", "commune", "29003")} <= named
    assert {("2025", "province", "82"), ("2025", "commune", "30001")} <= named  # the restated rows
    assert ("2025", "commune", "29000") not in named and ("2019", "commune", "30001") not in named


def test_units_named_by_batches_that_share_their_key_columns_or_only_their_dictionaries():
    """A batch whose key columns are the very arrays of the batch before is not marked again;
    one that shares only the dictionaries (other rows), or the index arrays under other
    dictionaries, names its own units."""
    import pyarrow as pa

    from sipas_data.build import UsedUnits

    levels, codes = pa.array(["province", "commune"]), pa.array(["82", "30001", "30002"])
    other_codes = pa.array(["87", "29000", "29003"])

    def batch(year, level, code, dictionary=codes):
        level = pa.DictionaryArray.from_arrays(level, levels)
        code = pa.DictionaryArray.from_arrays(code, dictionary)
        basis = pa.DictionaryArray.from_arrays(pa.array([0] * len(year), pa.int32()), pa.array(["pooled"]))
        return pa.table({"year": year, "level": level, "unit_code": code, "basis": basis})

    year, level, code = pa.array([2019, 2025], pa.int16()), pa.array([0, 1], pa.int32()), pa.array([0, 1], pa.int32())
    first = batch(year, level, code)
    batches = [
        first,
        first.append_column("value", pa.array([1.0, 2.0])),  # the same key arrays
        batch(pa.array([2025], pa.int16()), pa.array([1], pa.int32()), pa.array([2], pa.int32())),  # other rows
        pa.concat_tables([first.slice(0, 1), batch(pa.array([2025], pa.int16()), pa.array([0], pa.int32()),
                                                   pa.array([0], pa.int32()))]),  # two parts, one the same
        batch(year, level, code, other_codes),  # the same index arrays, other codes
    ]
    three = batch(pa.array([2019, 2019, 2025], pa.int16()), pa.array([0, 0, 0], pa.int32()),
                  pa.array([0, 0, 2], pa.int32()))
    batches += [three.slice(0, 1), three.slice(2, 1)]  # the same memory, further on
    by_marks, by_strings = UsedUnits(), UsedUnits()
    for b in batches:
        by_marks.add(b)
        by_strings.add(b.select(["year", "level", "unit_code", "basis"]).cast(pa.schema(
            {"year": pa.int16(), "level": pa.string(), "unit_code": pa.string(), "basis": pa.string()})))
    marked = by_marks.frame().sort_values(["vintage", "level", "code"]).reset_index(drop=True)
    grouped = by_strings.frame().sort_values(["vintage", "level", "code"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(marked, grouped)
    assert set(marked.itertuples(index=False, name=None)) == {
        ("2019", "province", "82"), ("2025", "commune", "30001"), ("2025", "commune", "30002"),
        ("2025", "province", "82"), ("2019", "province", "87"), ("2025", "commune", "29000"),
        ("2025", "province", "30002")}


def _index_batches():
    import duckdb

    from sipas_data.engine import compute_batches
    return list(compute_batches(duckdb.connect(), forms(), threshold=1))


@pytest.mark.parametrize("flushed_after_every_part", [False, True])
def test_index_file_encoded_in_parts_is_the_file_one_writer_writes(tmp_path, monkeypatch, flushed_after_every_part):
    """Batches encoded apart on several threads and joined give one writer's very bytes, and
    the checksum taken on the way is the file's (also when the file is flushed to disk as it
    is written)."""
    import hashlib

    import pyarrow.parquet as pq

    from sipas_data import release
    from sipas_data.release import ROW_GROUP_SIZE, _parquet_options, _write_parquet

    if flushed_after_every_part:
        monkeypatch.setattr(release, "FLUSH_EVERY", 1)
    batches = _index_batches()
    assert len(batches) > 2
    sha256, size = _write_parquet(tmp_path / "parts.parquet", iter(batches))
    options = _parquet_options()
    with pq.ParquetWriter(tmp_path / "one.parquet", **options) as out:
        for batch in batches:
            out.write_table(batch.cast(options["schema"]), row_group_size=ROW_GROUP_SIZE)
    expected = (tmp_path / "one.parquet").read_bytes()
    assert (tmp_path / "parts.parquet").read_bytes() == expected
    assert (sha256, size) == (hashlib.sha256(expected).hexdigest(), len(expected))


def test_key_columns_shared_by_batches_are_encoded_once_and_give_one_writers_file(tmp_path, monkeypatch):
    """Batches handing over the very key arrays of a batch shortly before reuse its keys'
    encoding, also after other keys in between; the file is still one writer's."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from sipas_data import release
    from sipas_data.release import KEY_SETS_HELD, ROW_GROUP_SIZE, _parquet_options, _write_parquet

    first = _index_batches()[0]
    assert first.num_rows > 2

    def same_keys(n: int):  # another indicator's numbers on the same key arrays
        return first.set_column(first.schema.get_field_index("value"), "value",
                                pc.add(first.column("value"), float(n)))

    others = [first.slice(0, first.num_rows - 1 - i) for i in range(KEY_SETS_HELD)]  # keys of their own
    batches = [first, same_keys(1), others[0], same_keys(2), *others, same_keys(3)]
    encoded = []
    encode = release._encode_part
    monkeypatch.setattr(release, "_encode_part", lambda batch, options: (
        encoded.append(None if batch is None else batch.schema.names), encode(batch, options))[1])
    _write_parquet(tmp_path / "parts.parquet", iter(batches))
    key_encodings = [names for names in encoded if names and "year" in names]
    # the first keys, the other keys; the first keys again once more other keys were held since
    assert len(key_encodings) == 1 + KEY_SETS_HELD + 1
    options = _parquet_options()
    with pq.ParquetWriter(tmp_path / "one.parquet", **options) as out:
        for batch in batches:
            out.write_table(batch.cast(options["schema"]), row_group_size=ROW_GROUP_SIZE)
    assert (tmp_path / "parts.parquet").read_bytes() == (tmp_path / "one.parquet").read_bytes()


def test_a_row_group_written_in_one_batch_is_the_file_of_the_default_batches():
    """The index file's writer hands each row group to the encoders in one batch instead of the
    default 1,024 rows: the same bytes, over several row groups."""
    import pyarrow as pa

    from sipas_data.release import ROW_GROUP_SIZE, _encode_part, _parquet_options

    batches = _index_batches()
    batch = pa.concat_tables(batches * (2 * ROW_GROUP_SIZE // sum(b.num_rows for b in batches) + 1))
    assert batch.num_rows > 2 * ROW_GROUP_SIZE
    options = _parquet_options()
    assert options["write_batch_size"] == ROW_GROUP_SIZE
    default = {k: v for k, v in options.items() if k != "write_batch_size"}
    assert _encode_part(batch, options).equals(_encode_part(batch, default))


def test_a_batch_that_cannot_be_encoded_fails_the_build_and_leaves_no_release(tmp_path):
    from sipas_data.release import write_release

    good = _index_batches()[0]

    def batches():
        yield good
        yield good.drop_columns(["value"])  # not the published schema: its encoding fails

    with pytest.raises((KeyError, ValueError), match="value"):
        write_release(tmp_path / "r1", batches(), pd.DataFrame({"code": ["1"]}), methodologies=[],
                      title="t", publisher="p", inputs=[], counts={})
    assert not [p for p in tmp_path.iterdir() if not p.name.endswith(".lock")]  # no release, no temp folder
