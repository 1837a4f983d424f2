"""Share and embed links for a view (no Streamlit).

A shared link carries every field of the view (``ui.state.to_params``), so it reproduces the
exact view: release, year, unit, level, service, indicator, language, map style, compared units.
``mode=embed`` shows only the page's primary chart with its title and source (for iframes);
Streamlit's own ``embed=true`` is added to embed links so its chrome is hidden too.
``mode=present`` hides the controls but keeps the page.
"""
from __future__ import annotations

import html
from dataclasses import replace
from urllib.parse import urlencode, urlsplit, urlunsplit

from .state import ViewState, to_params


def base_url(url: str | None, page: str) -> str:
    """The page's address without query or fragment; relative (``page``) when unknown."""
    if not url:
        return page
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def view_url(base: str, state: ViewState, mode: str = "") -> str:
    # the view itself, not the way it was reached: a shared link does not repeat the notice of a
    # place carried across a reform
    params = to_params(replace(state, mode=mode, origin=""))
    if mode == "embed":
        params["embed"] = "true"
    return f"{base}?{urlencode(params)}"


def share_url(base: str, state: ViewState) -> str:
    return view_url(base, state, "")


def embed_url(base: str, state: ViewState) -> str:
    return view_url(base, state, "embed")


def present_url(base: str, state: ViewState) -> str:
    return view_url(base, state, "present")


def iframe(src: str, title: str, height: int = 640) -> str:
    return (f'<iframe src="{html.escape(src, quote=True)}" title="{html.escape(title, quote=True)}" '
            f'width="100%" height="{int(height)}" style="border:0" loading="lazy"></iframe>')
