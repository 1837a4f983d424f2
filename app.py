"""SIPAS results dashboard: entry point and frame.

Run with ``streamlit run app.py``. The pages are registered here explicitly; a page module
(``pages/<name>.py``) holds only its body, ``body(ctx)``, and the sidebar filters it shows,
``FILTERS``. The page configuration is set once, here; then the frame (``pages._common.run_page``:
release, view, sidebar with the navigation that carries the view's URL parameters, notices, error
guard) is run around the chosen page's body.
"""
from __future__ import annotations

import importlib
import logging

import streamlit as st

from pages._common import PAGE_ICON, PAGES, run_page
from ui.strings import t

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

lang = st.query_params.get("lang", "vi")
lang = lang if lang in ("vi", "en") else "vi"


def _framed(name: str, links: dict):
    """The callable st.Page runs for page ``name``: the frame around the page module's body."""
    def page() -> None:
        module = importlib.import_module(f"pages.{name}")
        run_page(name, module.body, module.FILTERS, links)
    return page


# The navigation is hidden: the sidebar's links (pages._common) carry the view and the pages'
# icons. The pages themselves have no icon: the tab's icon is the emoji of the page
# configuration (a Material icon as favicon would be fetched from fonts.gstatic.com).
links: dict[str, st.Page] = {}
for name, url, _icon in PAGES:
    links[name] = st.Page(_framed(name, links), title=t("page_" + name, lang), url_path=url)
# The default page answers at "/" and only there (its own url_path is reserved but never routed
# to), so the overview is registered twice: as the default, and at "/overview", the address the
# share links and the sidebar give it.
front = st.Page(_framed("overview", links), title=t("page_overview", lang), url_path="home", default=True)
chosen = st.navigation([front, *links.values()], position="hidden")
name = "overview" if chosen is front else next(n for n, p in links.items() if p is chosen)
# once, after the navigation (its message would set the tab's title); the title names the page in
# Vietnamese, whatever the language of the view
# "auto": open on a wide screen, closed on a phone (where an open sidebar covers the page and the
# filters stay one tap away behind its button)
st.set_page_config(page_title=f"SIPAS · {t('page_' + name, 'vi')}", page_icon=PAGE_ICON, layout="wide",
                   initial_sidebar_state="auto")
# On a phone (one column) the share and press buttons go below the page, so that its figures come
# first; wider screens keep them above. Only the order on screen changes (keyboard order stays).
# A row of headline numbers (columns holding metrics themselves, not a card's columns that hold
# a row of metrics deeper down) stays two to a row instead of stacking one a screen-width each, so
# the page's first figure is not pushed past the second screen.
_METRIC_ROW = ("[data-testid=stHorizontalBlock]:has(>[data-testid=stColumn]>[data-testid=stVerticalBlock]"
               ">[data-testid=stElementContainer]>[data-testid=stMetric])")
st.html("<style>@media (max-width:640px){div:has(>.st-key-press_toolbar){order:1}"
        f"{_METRIC_ROW}{{flex-flow:row wrap!important;gap:.5rem 1rem!important}}"
        f"{_METRIC_ROW}>[data-testid=stColumn]{{flex:1 1 calc(50% - 1rem)!important;"
        "min-width:calc(50% - 1rem)!important}"
        "[data-testid=stMetricValue]{font-size:1.6rem!important}"
        "[data-testid=stMetricValue] *,[data-testid=stMetricLabel] *{white-space:normal!important;"
        "overflow:visible!important;text-overflow:clip!important}}</style>")
chosen.run()
