"""Per-page copies of Streamlit's index.html that ask for the chunk a page draws first, at once.

Streamlit's frontend loads each kind of element's code (a Vite chunk, ``static/js/<Name>.<hash>.js``)
only when the first element of that kind is rendered: the plotly bundle (4.7 MB, 1.4 MB gzipped)
is asked for after the chart's message has come over the websocket and the page's other elements
have been drawn. A copy of index.html with a ``<link rel="modulepreload">`` for that chunk and the
chunks it imports lets the browser fetch and compile it while it waits for the server. Only the
pages that draw the chunk get it (the Map page draws deck.gl, not plotly), so no page fetches code
it does not use; a chunk the page would fetch anyway costs no byte more.

deploy/run.sh calls ``write_pages(<assets>/static, <assets>/pages)`` on its copy of Streamlit's
built assets, and deploy/nginx.conf serves ``pages/<url path>.html`` for those addresses (the
app's own index.html for any other). The chunk names are read from the built files, so a new
Streamlit version is followed without an edit here; a chunk that cannot be found leaves that
page's copy out (the app's index.html is served, as without this step).

Standard library only: it runs before anything is installed beside Streamlit.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

# url path of a page (app.py, pages/_common.PAGES; "" is "/", the overview) -> the element chunks
# (Streamlit's frontend names) of the figure it draws first. The Map page is left out: deck.gl's
# code is 16 chunks and a stylesheet, whose preloads compete with the entry's own code, and its
# first map came later with them, not sooner (bench/bench_app.py --deploy --steps shows where a
# visit's time goes).
PAGES: dict[str, tuple[str, ...]] = {
    "": ("PlotlyChart",),
    "overview": ("PlotlyChart",),
    "services": ("PlotlyChart",),
    "compare": ("PlotlyChart",),
    "locality": ("PlotlyChart",),
}
# the file each page's copy is written to, under pages/ (nginx.conf names the same files)
HOME = "home"

_STATIC_IMPORT = re.compile(r'(?:\bimport|\bfrom)\s*"\./([\w.\-]+\.js)"')
_ENTRY = re.compile(r'<script type="module" crossorigin src="\./static/js/([\w.\-]+\.js)"></script>')
_LINKED = re.compile(r'href="\./static/js/([\w.\-]+\.js)"')
_MAP_DEPS = re.compile(r'm\.f=\[([^\]]*)\]')
_LAZY = re.compile(r'import\(`\./([\w.\-]+\.js)`\)(?:\.then\([^()]*\))?,__vite__mapDeps\(\[([\d,]*)\]\)')


class PreloadError(ValueError):
    """The built assets are not laid out as this module expects (another Streamlit build)."""


def chunk_file(js: Path, name: str) -> str:
    """The built file of element chunk ``name`` (``PlotlyChart`` -> ``PlotlyChart.D9Z0_fxz.js``)."""
    found = sorted(p.name for p in js.glob(f"{name}.*.js") if p.name.count(".") == 2)
    if len(found) != 1:
        raise PreloadError(f"{js}: expected one {name}.<hash>.js, found {found or 'none'}")
    return found[0]


def static_imports(js: Path, name: str) -> list[str]:
    """``name`` and every chunk it imports statically, transitively, in first-seen order (the
    dynamic ``import(`./x.js`)`` of code loaded later is not followed)."""
    order, todo = [], [name]
    while todo:
        current = todo.pop(0)
        if current in order:
            continue
        order.append(current)
        text = (js / current).read_text(encoding="utf-8")
        todo += [m for m in _STATIC_IMPORT.findall(text) if (js / m).is_file()]
    return order


def chunk_styles(js: Path, entry: str, chunk: str) -> list[str]:
    """The stylesheets (static/css/ names) Vite's loader fetches with ``chunk``, as the entry
    script lists them (``__vite__mapDeps``): the chunk's code runs only once they are loaded."""
    text = (js / entry).read_text(encoding="utf-8")
    deps = _MAP_DEPS.search(text)
    if deps is None:
        return []
    files = [f.strip().strip('"') for f in deps.group(1).split(",")]
    for m in _LAZY.finditer(text):
        if m.group(1) == chunk:
            picked = [files[int(i)] for i in m.group(2).split(",") if i]
            return [f[len("../css/"):] for f in picked if f.startswith("../css/") and f.endswith(".css")]
    return []


def page_links(static: Path, index_html: str, chunks: tuple[str, ...]) -> list[str]:
    """The ``<link>`` tags to add to index.html for a page drawing ``chunks``: each chunk's code
    and the code it imports that index.html does not already name, then its stylesheets."""
    js = static / "js"
    entry = _ENTRY.search(index_html)
    if entry is None:
        raise PreloadError("index.html: no <script type=\"module\" src=\"./static/js/...\"> entry")
    linked = {entry.group(1), *_LINKED.findall(index_html)}
    code, styles = [], []
    for name in chunks:
        file = chunk_file(js, name)
        code += [f for f in static_imports(js, file) if f not in linked and f not in code]
        styles += [s for s in chunk_styles(js, entry.group(1), file)
                   if (static / "css" / s).is_file() and s not in styles]
    return ([f'<link rel="modulepreload" crossorigin href="./static/js/{f}">' for f in code]
            + [f'<link rel="preload" as="style" crossorigin href="./static/css/{s}">' for s in styles])


def page_html(index_html: str, links: list[str]) -> str:
    """index.html with ``links`` after its own module preloads (the entry's code is asked first)."""
    anchor = index_html.find('    <link rel="stylesheet"')
    if anchor < 0:
        anchor = index_html.find("</head>")
    if anchor < 0:
        raise PreloadError("index.html: no </head>")
    return index_html[:anchor] + "".join(f"    {link}\n" for link in links) + index_html[anchor:]


def write_pages(static: Path, out: Path, index_html: str) -> dict[str, list[str]]:
    """Write ``out/<page>.html`` (``home.html`` for "/") for every page of PAGES; returns the
    links added to each. A page whose chunks are not found is left out, with a line on stderr."""
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for path, chunks in PAGES.items():
        try:
            links = page_links(static, index_html, chunks)
        except (PreloadError, OSError) as exc:
            print(f"deploy: no preload for /{path}: {exc}", file=sys.stderr)
            continue
        target = out / f"{path or HOME}.html"
        part = target.with_name(f".{target.name}.{os.getpid()}")
        part.write_text(page_html(index_html, links), encoding="utf-8")
        part.chmod(0o644)
        os.replace(part, target)  # a start beside a running nginx never serves half a file
        written[path] = links
    return written
