"""SIPAS results dashboard: entry point.

Run with ``streamlit run app.py``. Pages live in ``pages/`` and are registered here explicitly
(``pages/_common.py`` is shared glue, not a page). The navigation is drawn by each page in the
sidebar with links that carry the current view's URL parameters.
"""
from __future__ import annotations

import logging

import streamlit as st

from pages._common import PAGE_ICON, PAGES
from ui.strings import t

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

lang = st.query_params.get("lang", "vi")
lang = lang if lang in ("vi", "en") else "vi"

st.set_page_config(page_title="SIPAS", page_icon=PAGE_ICON, layout="wide",
                   initial_sidebar_state="expanded")

pages = [st.Page(path, title=t("page_" + name, lang), url_path=url, icon=icon, default=(name == "overview"))
         for name, path, url, icon in PAGES]
st.navigation(pages, position="hidden").run()
