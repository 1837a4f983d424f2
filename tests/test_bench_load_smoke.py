"""A tiny run of bench/bench_load.py (3 websocket viewers, a few seconds): the benchmark works and
the app answers every render. The figures themselves belong in issue notes, not in asserts."""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def test_load_bench_smoke(demo_release_root, tmp_path):
    import bench_load
    out = tmp_path / "load.json"
    assert bench_load.main(["--viewers", "3", "--seconds", "5", "--ramp", "1",
                            "--releases", str(demo_release_root), "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["connected"] == 3 and r["renders"] >= 3
    assert r["errors"] == 0, r["failures"]
