"""Shared plumbing for the real-browser tests: Debian's Chromium and a Streamlit app process."""
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ui.press import find_browser

ROOT = Path(__file__).resolve().parent.parent
# The Chromium the app itself would use for press images (ui.press.find_browser: $SIPAS_BROWSER,
# else Debian's), so one setting hides it from both: SIPAS_BROWSER=/nonexistent runs the suite as
# on a machine without a browser, and every browser test skips.
CHROMIUM = find_browser()
NO_CHROMIUM = ("no Chromium: Debian's chromium is not installed (apt-get install chromium chromium-driver "
               "fonts-noto-core; .ci/run installs it) or $SIPAS_BROWSER names no program")
# Without the background-networking flags Chromium keeps trying to reach the closed network.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
NEEDS_CHROMIUM = pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)


def free_ports(n: int = 1) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_healthy(url: str, proc: subprocess.Popen, tries: int = 240) -> None:
    for _ in range(tries):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return
        except OSError:
            time.sleep(0.25)
    proc.kill()
    pytest.fail("streamlit did not start")


@contextlib.contextmanager
def app_server(releases: Path, geo_data: Path, **extra_env):
    """Run ``streamlit run app.py`` on a free loopback port; yields its base URL."""
    port = free_ports()[0]
    env = {**os.environ, "SIPAS_RELEASES": str(releases), "SIPAS_GEO_DATA": str(geo_data), **extra_env}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
                             "--server.port", str(port), "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def chromium():
    """A headless Chromium driven by Playwright; the calling test (or fixture) is skipped when there
    is none, so a test module that only borrows the fixtures skips too."""
    if CHROMIUM is None:
        pytest.skip(NO_CHROMIUM)
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()
