"""Shared fixtures, and the test groups. tests/ is on sys.path so helpers like handworked.py import directly.

Every test is put in exactly one group (markers registered in pytest.ini), by the rules of
``group_of`` below, so nothing has to be marked by hand:

- ``deploy``: the nginx cluster of deploy/run.sh and the load benchmark (``DEPLOY_FILES``);
- ``browser``: needs Chromium, a real browser or image export (test_browser_*.py, and every
  test that skips without Chromium);
- ``app``: the app's pages run in-process with Streamlit's AppTest (modules using tests/apptest.py);
- ``slow``: core tests that take seconds each: they build the demo release (5 s, once per
  session), install the real boundary files of ../shared/geo, run the command line in a
  subprocess, or search many generated cases (``SLOW_FILES``, ``SLOW_TESTS``);
- ``unit``: the rest, fast tests of one layer at a time. ``python -m pytest -m unit`` runs them
  in seconds; ``python -m pytest`` runs every group.
"""
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
SHARED_GEO = TESTS.parent.parent / "shared" / "geo"

GROUPS = ("unit", "slow", "app", "browser", "deploy")
DEPLOY_FILES = {"test_deploy.py", "test_bench_load_smoke.py"}
SLOW_FILES = {
    "test_cli_errors.py",          # every test runs `python -m sipas_data` or `python -m geo` in a subprocess
    "test_engine_properties.py",   # property tests over whole builds
}
SLOW_TESTS = {
    "test_differencing_recovers_nothing",      # the differencing attacks on generated releases
    "test_property_no_row_is_lost",            # many generated forms files
    "test_all_sibling_sets_are_bounded",       # lays out every set of sibling units
    "test_cli_validate_build_and_list",        # the command line, in a subprocess
    "test_cli_build_leaves_rejected_official_rows_out_and_writes_them",
}


def _uses_apptest(module) -> bool:
    """The module runs pages with AppTest (imports tests/apptest.py or AppTest itself)."""
    return any(str(getattr(v, "__module__", "")).startswith(("apptest", "streamlit.testing"))
               for v in vars(module).values())


def _skips_without(item, what: str) -> bool:
    """The test skips when ``what`` is missing (its skipif reason names it)."""
    return any(what in str(m.kwargs.get("reason", "")).lower() for m in item.iter_markers("skipif"))


def group_of(item) -> str:
    name = item.path.name
    if name in DEPLOY_FILES:
        return "deploy"
    if name.startswith("test_browser_") or _skips_without(item, "chromium"):
        return "browser"
    if getattr(item, "module", None) is not None and _uses_apptest(item.module):
        return "app"
    if (name in SLOW_FILES or getattr(item, "originalname", item.name) in SLOW_TESTS
            or "demo_release_root" in getattr(item, "fixturenames", ()) or _skips_without(item, "shared/geo")):
        return "slow"
    return "unit"


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        item.add_marker(getattr(pytest.mark, group_of(item)))


@pytest.fixture(scope="session")
def demo_release_root(tmp_path_factory) -> Path:
    """The demo release, built once per test session into a temporary releases folder, and only
    when a test asks for it (such tests are in the ``slow`` group or above)."""
    from sipas_data.demo import build_demo  # imported when the first test asks

    root = tmp_path_factory.mktemp("releases")
    build_demo(root)
    return root


@pytest.fixture()
def demo_env(demo_release_root, monkeypatch):
    """Point the app and the loader at the session's demo release."""
    monkeypatch.setenv("SIPAS_RELEASES", str(demo_release_root))
    return demo_release_root


@pytest.fixture()
def deferred(monkeypatch):
    """file name -> the deferred download's callable, for every download button a run draws."""
    from streamlit.runtime.media_file_manager import MediaFileManager
    got: dict = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        got[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name=file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return got
