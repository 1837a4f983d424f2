"""Public hardening: the deployment config, data strings escaped everywhere they reach Markdown or
HTML, hostile query strings (property-based), and no path outside the releases from a URL."""
import json
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from apptest import errors, open_page

from hostile import HOSTILE, RELEASE_ID, build_hostile

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["pages/overview.py", "pages/map.py", "pages/services.py", "pages/compare.py", "pages/locality.py",
         "pages/methodology.py"]
SECRET = "SECRET-RESPONDENT-ROW-7f3a"


def test_public_config():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert cfg["client"]["showErrorDetails"] == "none"
    assert cfg["client"]["toolbarMode"] == "viewer"
    assert cfg["client"]["showErrorLinks"] is False
    assert cfg["server"]["fileWatcherType"] == "none"
    assert cfg["server"]["runOnSave"] is False and cfg["server"]["allowRunOnSave"] is False
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["server"]["enableStaticServing"] is False
    assert cfg["server"]["maxUploadSize"] <= 1
    assert cfg["global"]["developmentMode"] is False


def test_no_uploads_or_unsafe_html_in_the_public_app():
    code = "\n".join(p.read_text(encoding="utf-8") for p in [ROOT / "app.py", *(ROOT / "pages").glob("*.py")])
    assert "file_uploader" not in code and "data_editor" not in code
    assert "unsafe_allow_html" + "=True" not in code  # split so repository greps find no false use


# ---------------------------------------------------------------------------------------------
# hostile data strings

@pytest.fixture(scope="module")
def hostile_root(demo_release_root, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile_releases")
    build_hostile(demo_release_root, root)
    return root


MARKDOWN_ACCESSORS = ["markdown", "caption", "subheader", "header", "title", "info", "warning", "error",
                      "success", "toast"]
LABELLED = ["metric", "button", "expander", "page_link", "selectbox", "multiselect", "radio", "text_input",
            "segmented_control", "download_button", "tabs", "link_button", "toggle", "checkbox", "pills"]
RAW = ["<img", "](", ":red[", "**b**", "`c`", "$x^2$", "&lt;b", "\n# H"]


def _markdown_sources(at) -> list[str]:
    out = []
    for name in MARKDOWN_ACCESSORS:
        out += [str(e.value) for e in getattr(at, name)]
    for name in LABELLED:
        out += [str(getattr(e, "label", "") or "") for e in getattr(at, name)]
    out += [str(getattr(m, "help", "") or "") for m in at.metric]
    return out


def _plotly_strings(at) -> list[str]:
    out = []

    def walk(x):
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, dict):  # layout.meta is data kept for exports, never drawn as text
            for k, v in x.items():
                if k != "meta":
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    for chart in at.get("plotly_chart"):
        walk(json.loads(chart.proto.spec))
    return out


@pytest.mark.parametrize("page,params", [
    ("pages/overview.py", {"year": "2024", "unit": "868"}),
    ("pages/overview.py", {"year": "2024", "unit": "87"}),
    ("pages/map.py", {"year": "2024", "unit": "870"}),
    ("pages/services.py", {"year": "2024", "unit": "868"}),
    ("pages/compare.py", {"year": "2024", "units": "868,870,866"}),
    ("pages/locality.py", {"year": "2024", "unit": "868"}),
    ("pages/methodology.py", {"year": "2024"}),
])
def test_hostile_names_render_as_plain_text(hostile_root, monkeypatch, page, params):
    monkeypatch.setenv("SIPAS_RELEASES", str(hostile_root))
    at = open_page(page, **params, release=RELEASE_ID)
    assert not errors(at), errors(at)
    sources = _markdown_sources(at)
    shown = " ".join(sources)
    assert HOSTILE.replace("<", "\\<").replace("(", "\\(")[:12] in shown, "the hostile name should be shown (escaped)"
    for text in sources:
        for raw in RAW:  # present only with a backslash before it (Markdown's escape)
            assert not re.search(r"(?<!\\)" + re.escape(raw), text), f"unescaped {raw!r} in {text[:300]!r}"
    for text in _plotly_strings(at):
        assert "<img" not in text and "onerror=alert(1)>" not in text.replace("&gt;", "#"), text[:200]


# ---------------------------------------------------------------------------------------------
# hostile query strings (property-based)

KEYS = ["release", "year", "level", "unit", "units", "service", "indicator", "lang", "map", "mode", "embed"]
NASTY = ["../../etc", "../../etc/passwd", "/etc/passwd", "..", ".tmp-demo", "%2e%2e%2f", "demo-dong-thap/..",
         "demo-dong-thap/../../etc", "<script>alert(1)</script>", HOSTILE, "\u202e", "NaN", "inf", "-1",
         "9" * 400, "1e309", "0x1f", "VN", "VN,VN,VN", ",,,,", "868," * 40, "forms.rejects.csv", "responses"]
value = st.one_of(st.text(max_size=120), st.sampled_from(NASTY),
                  st.integers(min_value=-(10 ** 40), max_value=10 ** 40).map(str))
params_strategy = st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=12)),
                                  st.one_of(value, st.lists(value, min_size=2, max_size=3)), max_size=8)


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(page=st.sampled_from(PAGES), params=params_strategy)
def test_random_query_strings_never_break_a_page(demo_env, page, params):
    at = open_page(page, **params)
    assert not errors(at), errors(at)
    assert at.subheader or (page.endswith("locality.py") and at.text_input), "blank page"
    assert at.query_params["release"] == "demo-dong-thap"


# ---------------------------------------------------------------------------------------------
# only releases are reachable

def test_no_url_reaches_files_beside_the_releases(demo_release_root, tmp_path, monkeypatch):
    """Respondent-level files, rejects and anything outside the releases folder never show up,
    whatever the URL names."""
    import shutil
    root = tmp_path / "releases"
    shutil.copytree(demo_release_root / "demo-dong-thap", root / "demo-dong-thap")
    (root / "forms.rejects.csv").write_text(f"row,reason\n1,{SECRET}\n", encoding="utf-8")
    (root / "demo-dong-thap" / "responses.csv").write_text(f"form_id\n{SECRET}\n", encoding="utf-8")
    secret_dir = tmp_path / "outside"
    secret_dir.mkdir()
    (secret_dir / "manifest.json").write_text(json.dumps({"id": "outside", "title": SECRET}), encoding="utf-8")
    monkeypatch.setenv("SIPAS_RELEASES", str(root))
    for release in ["../outside", str(secret_dir), "forms.rejects.csv", "demo-dong-thap/responses.csv",
                    "demo-dong-thap/../outside", ".", ".."]:
        for page in ("pages/methodology.py", "pages/overview.py"):
            at = open_page(page, release=release)
            assert not at.exception
            assert at.query_params["release"] == "demo-dong-thap"
            everything = " ".join(_markdown_sources(at) + [str(d.value.to_dict()) for d in at.dataframe])
            assert SECRET not in everything
