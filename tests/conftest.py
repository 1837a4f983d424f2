"""Shared fixtures. tests/ is on sys.path so helpers like handworked.py import directly."""
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
SHARED_GEO = TESTS.parent.parent / "shared" / "geo"


@pytest.fixture(scope="session")
def demo_release_root(tmp_path_factory) -> Path:
    """The demo release, built once per test session into a temporary releases folder."""
    from sipas_data.demo import build_demo

    root = tmp_path_factory.mktemp("releases")
    build_demo(root)
    return root


@pytest.fixture()
def demo_env(demo_release_root, monkeypatch):
    """Point the app and the loader at the session's demo release."""
    monkeypatch.setenv("SIPAS_RELEASES", str(demo_release_root))
    return demo_release_root
