"""A release whose data strings are hostile: unit names, official notes, title and publisher carry
HTML, Markdown and Streamlit directives. Built from a copy of the demo release, with the files
rewritten and the manifest's checksums recomputed (so the app verifies and serves it)."""
import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HOSTILE = "<img src=x onerror=alert(1)>"
MD_CONTROL = (" **b** _i_ [link](javascript:alert(2)) ![p](http://127.0.0.1:9/p.png) :red[red] $x^2$ `c` &lt;b&gt;"
              "\n# H | t |")
RELEASE_ID = "hostile"


def hostile_name(code: str) -> str:
    return f"{HOSTILE}{MD_CONTROL} {code}"


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def build_hostile(demo_root: Path, root: Path, release_id: str = RELEASE_ID) -> Path:
    dst = root / release_id
    shutil.copytree(Path(demo_root) / "demo-dong-thap", dst)
    units = pq.read_table(dst / "units.parquet")
    names = [hostile_name(c) for c in units.column("code").to_pylist()]
    units = units.set_column(units.schema.get_field_index("name"), "name", pa.array(names, pa.string()))
    if "short_name" in units.column_names:
        units = units.set_column(units.schema.get_field_index("short_name"), "short_name",
                                 pa.array(names, pa.string()))
    pq.write_table(units, dst / "units.parquet")
    idx = pq.read_table(dst / "indices.parquet")
    note = idx.column("note")
    official = pc.equal(idx.column("source"), "official")
    new_note = pc.if_else(official, pa.scalar(HOSTILE + MD_CONTROL + " (note)"), note.cast(pa.string()))
    idx = idx.set_column(idx.schema.get_field_index("note"), "note", new_note.cast(note.type))
    pq.write_table(idx, dst / "indices.parquet", row_group_size=32_768, compression="zstd")
    m = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    m.update(id=release_id, title=HOSTILE + MD_CONTROL + " (title)", publisher=HOSTILE + " (publisher)",
             created="2000-01-01T00:00:00+00:00")
    for name in m["files"]:
        p = dst / name
        m["files"][name] = {"sha256": _sha(p), "bytes": p.stat().st_size}
    (dst / "manifest.json").write_text(json.dumps(m, ensure_ascii=False, indent=1), encoding="utf-8")
    return dst
