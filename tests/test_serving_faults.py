"""Faults of the serving process itself: a full cache folder (no private copy can be made) serves
the published folder and recovers by itself; a release found damaged by a fresh process gives one
notice; and no page makes the browser contact another host."""
import errno
import logging
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from apptest import open_page

from browser import NEEDS_CHROMIUM, app_server, chromium
from test_faults import copy_release, flip_bytes
from serving import keeper as serving
from serving.keeper import ReleaseKeeper

REAL_COPYTREE = shutil.copytree


class FullDisk:
    """shutil.copytree that runs out of space part way into ``cache`` while ``full`` is set (other
    copies, such as the tests' own, work as usual)."""

    def __init__(self, cache: Path):
        self.cache = Path(cache)
        self.full = True
        self.attempts = 0

    def __call__(self, src, dst, *args, **kwargs):
        # <cache>/sipas-serving-*/<id>-*/<id>: a release; copytree calls itself for its subfolders
        if len(Path(dst).parents) < 3 or Path(dst).parents[2] != self.cache:
            return REAL_COPYTREE(src, dst, *args, **kwargs)
        self.attempts += 1
        if not self.full:
            return REAL_COPYTREE(src, dst, *args, **kwargs)
        Path(dst).mkdir(parents=True)
        (Path(dst) / "indices.parquet").write_bytes(b"PAR1 and then the disk was full")
        raise OSError(errno.ENOSPC, "No space left on device")


def cached_copies(keeper: ReleaseKeeper) -> list[Path]:
    return sorted(keeper.dir.iterdir()) if keeper.dir is not None and keeper.dir.exists() else []


# ---------------------------------------------------------------------------------------------
# the keeper alone

def test_a_full_cache_serves_the_published_folder_and_recovers(demo_release_root, tmp_path, monkeypatch, caplog):
    root = tmp_path / "releases"
    root.mkdir()
    folder = copy_release(demo_release_root, root, "r1")
    disk = FullDisk(tmp_path / "cache")
    monkeypatch.setattr(serving.shutil, "copytree", disk)
    keeper = ReleaseKeeper(root, tmp_path / "cache")
    with caplog.at_level(logging.WARNING, logger="sipas.serving"):
        rel, problem = keeper.get("r1")
    assert problem is None, "the release is sound: nothing to tell the viewer"
    assert rel.path == folder, "served from the published folder"
    assert rel.read(year=2024, level="district", unit="868")["value"].notna().all()
    assert any("no private copy" in r.getMessage() and "published folder" in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert cached_copies(keeper) == [], "the partial copy is removed"
    # the next reruns do not copy again at once (a full disk would be hit on every rerun)
    assert keeper.get("r1") == (rel, None)
    assert disk.attempts == 1
    # space returns: a later call copies, and the same Release object now reads the private copy
    disk.full = False
    keeper.retry_after = 0
    keeper._direct["r1"].retry_at = 0
    rel2, problem = keeper.get("r1")
    assert problem is None and disk.attempts == 2
    assert rel2 is rel and keeper.dir in rel.path.parents
    assert keeper.by_fingerprint("r1", rel.fingerprint) is rel
    # from now on the private copy is what protects the viewer
    before = rel.read(year=2024, level="district")
    flip_bytes(folder / "indices.parquet")
    rel3, problem = keeper.get("r1")
    assert rel3 is rel and problem
    assert rel3.read(year=2024, level="district").equals(before)


def test_a_cache_folder_that_cannot_be_made_serves_the_published_folder(demo_release_root, tmp_path):
    root = tmp_path / "releases"
    root.mkdir()
    folder = copy_release(demo_release_root, root, "r1")
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be", encoding="utf-8")
    keeper = ReleaseKeeper(root, not_a_folder)  # today: raises, and every page fails
    rel, problem = keeper.get("r1")
    assert problem is None and rel.path == folder


def test_a_full_cache_never_serves_a_damaged_release(demo_release_root, tmp_path, monkeypatch):
    root = tmp_path / "releases"
    root.mkdir()
    bad = copy_release(demo_release_root, root, "bad")
    flip_bytes(bad / "indices.parquet")
    disk = FullDisk(tmp_path / "cache")
    monkeypatch.setattr(serving.shutil, "copytree", disk)
    keeper = ReleaseKeeper(root, tmp_path / "cache", retry_after=0)
    with pytest.raises(Exception, match="does not match its checksum"):
        keeper.get("bad")
    with pytest.raises(Exception, match="does not match its checksum"):
        keeper.get("bad")
    assert disk.attempts == 1, "the damage is remembered for this state of the folder"


# ---------------------------------------------------------------------------------------------
# what a viewer sees

def _run(root: Path, monkeypatch, page="pages/overview.py", **params):
    monkeypatch.setenv("SIPAS_RELEASES", str(root))
    at = open_page(page, **params)
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_viewer_sees_the_data_while_the_cache_is_full(demo_release_root, tmp_path, monkeypatch):
    root = tmp_path / "full-cache"
    root.mkdir()
    copy_release(demo_release_root, root, "live")
    cache = tmp_path / "cache-full"
    monkeypatch.setenv("SIPAS_CACHE", str(cache))
    monkeypatch.setattr(serving, "RETRY_COPY_AFTER", 0)
    disk = FullDisk(cache)
    monkeypatch.setattr(serving.shutil, "copytree", disk)
    at = _run(root, monkeypatch, year="2024", unit="868")
    assert not at.error, [e.value for e in at.error]  # today: "No data release is installed"
    head = {m.label: m.value for m in at.metric}["Chỉ số SIPAS"]
    assert not at.warning, [w.value for w in at.warning]
    disk.full = False  # space returns: no restart needed
    for page in ("pages/overview.py", "pages/map.py"):
        at = _run(root, monkeypatch, page, year="2024", unit="868")
        assert not at.error, [e.value for e in at.error]
    assert disk.attempts >= 2
    assert {m.label: m.value for m in _run(root, monkeypatch, year="2024", unit="868").metric}["Chỉ số SIPAS"] == head
    copies = [p for p in cache.glob("sipas-serving-*/live-*/live")]
    assert copies, "a private copy was taken once there was room"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_damaged_release_named_in_the_url_gives_one_notice(demo_release_root, tmp_path, monkeypatch, lang):
    root = tmp_path / f"fresh-{lang}"  # a fresh process: the keeper never verified "newest"
    root.mkdir()
    copy_release(demo_release_root, root, "older", created="2020-01-01T00:00:00+00:00")
    newest = copy_release(demo_release_root, root, "newest", created="2030-01-01T00:00:00+00:00")
    flip_bytes(newest / "indices.parquet")
    at = _run(root, monkeypatch, year="2024", release="newest", lang=lang)
    assert not at.error, [e.value for e in at.error]
    assert at.query_params["release"] == "older"
    notices = [w.value for w in at.warning] + [i.value for i in at.info]
    assert len(notices) == 1, notices  # today also "Release “newest” was not found"
    assert "newest" in notices[0] and ("cannot be read" if lang == "en" else "Không đọc được") in notices[0]
    # a release that does not exist at all is still reported as not found
    at = _run(root, monkeypatch, year="2024", release="nonexistent", lang=lang)
    assert any("nonexistent" in i.value for i in at.info), [i.value for i in at.info]


# ---------------------------------------------------------------------------------------------
# no other host

def test_the_page_icon_is_drawn_locally():
    from streamlit.commands.page_config import _get_favicon_string

    from pages._common import PAGE_ICON
    # an emoji becomes an inline SVG in the browser; a Material icon would be fetched from Google
    assert _get_favicon_string(PAGE_ICON).startswith("emoji:")


@pytest.fixture(scope="module")
def server(demo_release_root, tmp_path_factory):
    with app_server(demo_release_root, tmp_path_factory.mktemp("geo_empty")) as url:
        yield url


@NEEDS_CHROMIUM
@pytest.mark.parametrize("name", ["overview", "map", "methodology"])
def test_no_page_makes_the_browser_contact_another_host(server, name):
    pytest.importorskip("playwright.sync_api")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        hosts = []
        page.on("request", lambda req: hosts.append(req.url))
        page.goto(f"{server}/{name}?year=2024")
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)
        page.wait_for_timeout(2500)  # favicon, fonts, plotly
        page.close()
    elsewhere = sorted({u for u in hosts if urlsplit(u).scheme not in ("data", "blob")
                        and urlsplit(u).hostname not in ("127.0.0.1", "localhost")})
    assert hosts and not elsewhere, elsewhere
