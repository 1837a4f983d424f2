"""Release files on disk: world-readable modes whatever the umask, one build per release id at a
time (a lock), and the leftovers of interrupted builds removed once nobody writes them."""
import contextlib
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from handworked import forms
from sipas_data.build import build_release
from sipas_data.release import STALE_AFTER, ReleaseError, list_releases, open_release, remove_stale


def _build(out, **kw):
    return build_release(forms(), out, title="Thử nghiệm", publisher="Sở Nội vụ", inputs=[],
                         counts={"forms_read": 9}, threshold=2, **kw)


@pytest.fixture()
def strict_umask():
    """A publishing account whose umask lets nobody else read what it writes."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def assert_published_modes(folder: Path) -> None:
    """The folder and everything in it: folders 0755, files 0644."""
    paths = [folder, *sorted(folder.rglob("*"))]
    assert len(paths) > 2
    for p in paths:
        mode = stat.S_IMODE(p.stat().st_mode)
        want = 0o755 if p.is_dir() else 0o644
        assert mode == want, f"{p.relative_to(folder.parent)}: {oct(mode)}, want {oct(want)}"


@contextlib.contextmanager
def held_lock(path: Path):
    """Another process holds the exclusive lock on ``path`` until the block ends."""
    code = ("import fcntl, os, sys\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield
    finally:
        proc.stdin.close()
        proc.wait(10)


def leftover(root: Path, name: str, age: float = 0, *files: str) -> Path:
    """A folder an interrupted build left behind, ``age`` seconds old."""
    p = root / name
    (p / "methodology").mkdir(parents=True)
    for f in ("indices.parquet", *files):
        (p / f).write_bytes(b"{}")
    if age:
        then = time.time() - age
        for q in (*p.rglob("*"), p):
            os.utime(q, (then, then))
    return p


# ---------------------------------------------------------------------------------------------
# modes

def test_a_release_is_world_readable_whatever_the_umask(tmp_path, strict_umask):
    root = tmp_path / "releases"  # created by the build, as on a first publication
    path = _build(root / "r1")
    assert stat.S_IMODE(root.stat().st_mode) == 0o755
    assert_published_modes(path)
    # a replacement too (it goes through a new temporary folder)
    path = _build(root / "r1", created="2099-01-01T00:00:00+00:00")
    assert_published_modes(path)
    assert open_release("r1", root, verify=True).created.startswith("2099")


def test_installed_boundary_layers_are_world_readable_whatever_the_umask(tmp_path, strict_umask):
    from geo import boundaries as B

    layer = gpd.GeoDataFrame({"code": ["87"], "geometry": [box(105, 10, 106, 11)]}, crs=4326)
    layer_dir = tmp_path / "geo_data" / "2019" / "province"
    B._write_atomic(layer_dir, {"low": layer, "high": layer}, {"vintage": "2019", "level": "province"})
    assert json.loads((layer_dir / "meta.json").read_text(encoding="utf-8"))["level"] == "province"
    assert_published_modes(layer_dir)
    assert stat.S_IMODE(layer_dir.parent.stat().st_mode) == 0o755
    B._write_atomic(layer_dir, {"low": layer}, {"vintage": "2019", "level": "province"})  # reinstall
    assert_published_modes(layer_dir)


# ---------------------------------------------------------------------------------------------
# one build at a time

def test_a_second_build_of_the_same_release_fails_at_once(tmp_path):
    first = _build(tmp_path / "r1")
    before = {p.name: p.read_bytes() for p in first.iterdir() if p.is_file()}
    with held_lock(tmp_path / ".r1.lock"):  # a build of r1 is running in another process
        t0 = time.monotonic()
        with pytest.raises(ReleaseError, match=r"another build is writing .*/r1; try again when it has finished"):
            _build(tmp_path / "r1", created="2099-01-01T00:00:00+00:00")
        assert time.monotonic() - t0 < 5, "it must not wait for the other build"
        _build(tmp_path / "r2")  # another id is not held up
    after = {p.name: p.read_bytes() for p in first.iterdir() if p.is_file()}
    assert after == before, "the running build's release is not touched"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    assert sorted(r.id for r in list_releases(tmp_path)) == ["r1", "r2"]  # the lock file is not listed
    # once the other build has finished, building again works
    _build(tmp_path / "r1", created="2099-01-01T00:00:00+00:00")
    assert open_release("r1", tmp_path, verify=True).created.startswith("2099")


def test_listing_never_puts_back_a_release_a_build_is_replacing(tmp_path):
    path = _build(tmp_path / "r1")
    path.rename(tmp_path / ".old-r1-deadbeef")  # a build is between its two renames
    with held_lock(tmp_path / ".r1.lock"):
        assert list_releases(tmp_path) == []
        assert (tmp_path / ".old-r1-deadbeef").is_dir()
    assert [r.id for r in list_releases(tmp_path)] == ["r1"]  # the build died: put back


# ---------------------------------------------------------------------------------------------
# leftovers of interrupted builds

def test_a_build_removes_its_own_leftovers_at_once(tmp_path):
    _build(tmp_path / "r1")
    mine = leftover(tmp_path, ".tmp-r1-abcd1234")          # a build of r1 was killed a moment ago
    other = leftover(tmp_path, ".tmp-r1-extra-abcd1234")   # a build of "r1-extra", maybe running
    _build(tmp_path / "r1")
    assert not mine.exists()
    assert other.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-r1-") and p != other]


def test_listing_removes_old_leftovers_nobody_writes(tmp_path):
    _build(tmp_path / "good")
    old = leftover(tmp_path, ".tmp-good-k3j2h1gf", age=2 * STALE_AFTER)
    fresh = leftover(tmp_path, ".tmp-good-a1b2c3d4")       # may be a build that is starting
    held = leftover(tmp_path, ".tmp-busy-z9y8x7w6", age=2 * STALE_AFTER)
    replaced = leftover(tmp_path, ".old-good-deadbeef", 2 * STALE_AFTER, "manifest.json")  # died before removing it
    with held_lock(tmp_path / ".busy.lock"):               # a long build of "busy" is running
        assert [r.id for r in list_releases(tmp_path)] == ["good"]
        assert not old.exists() and not replaced.exists()
        assert fresh.exists() and held.exists()
    assert sorted(remove_stale(tmp_path, older_than=0)) == sorted([fresh.name, held.name])  # nobody writes them now
    assert [r.id for r in list_releases(tmp_path)] == ["good"]
    assert open_release("good", tmp_path, verify=True).verify() == []


def test_an_interrupted_build_leaves_nothing_for_the_next_one(tmp_path):
    _build(tmp_path / "r1")
    with pytest.raises(KeyboardInterrupt):
        _build(tmp_path / "r1", _fail_after_files=True)
    killed = leftover(tmp_path, ".tmp-r1-q1w2e3r4")  # as if the process had been killed instead
    _build(tmp_path / "r1", created="2099-01-01T00:00:00+00:00")
    assert not killed.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".r1.lock", "r1"]
