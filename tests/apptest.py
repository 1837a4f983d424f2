"""Shared AppTest plumbing: open one page of the app with the given URL parameters."""
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_page(page: str, timeout: float = 90, **params) -> AppTest:
    """Run ``page`` (e.g. ``pages/map.py``) as a viewer opening a URL with ``params``."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(page)
    at.run()
    return at


def errors(at: AppTest) -> list:
    """Exceptions and error elements on the page (a viewer must see neither)."""
    return [e.value for e in at.exception] + [e.value for e in at.error]
