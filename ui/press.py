"""Press-ready output (no Streamlit): figures as PNG/SVG at press sizes, the press kit ZIP and
the key numbers as a Vietnamese paragraph.

* :func:`press_figure` lays a framed figure (``ui.figures.frame_figure``) out for a fixed size:
  title, subtitle and source are wrapped again for that width, the watermark stays, the figure
  keeps its own fonts, colours and white background (the app theme never reaches an image).
* :class:`Renderer` keeps ONE headless browser (kaleido 1.x driving Debian's Chromium) on its own
  event-loop thread; ``render()`` is thread-safe (one render at a time), caches bytes by
  (figure JSON hash, size, scale, format) and raises a :class:`RenderError` subclass with a
  plain message when the browser or the font is missing. The browser starts on the first
  render, never at import.
* :func:`press_kit` zips the page's figures in both sizes, the data shown (CSV, XLSX) and the
  key-numbers text.
"""
from __future__ import annotations

import asyncio
import atexit
import hashlib
import io
import logging
import math
import os
import shutil
import subprocess
import threading
import zipfile
from collections import OrderedDict
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import plotly.graph_objects as go

from . import export, fmt, queries
from .fmt import esc
from .figures import frame_figure

log = logging.getLogger("sipas.press")

#: Press sizes in CSS pixels; images are rendered at SCALE x (2400x1350, 2160x2160).
SIZES = {"news": (1200, 675), "social": (1080, 1080)}
SCALE = 2
FONT_FAMILY = "Noto Sans"
BROWSER_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


class RenderError(RuntimeError):
    """An image could not be made; ``str(exc)`` is a plain message for the user (vi / en)."""


class BrowserMissing(RenderError):
    pass


class FontMissing(RenderError):
    pass


class RenderTimeout(RenderError):
    pass


# ---------------------------------------------------------------------------------------------
# layout for a fixed size

def press_figure(fig: go.Figure, width: int, height: int) -> go.Figure:
    """A copy of ``fig`` laid out for exactly ``width`` x ``height`` CSS pixels.

    A figure framed by ``frame_figure`` carries its raw title/subtitle/source in
    ``layout.meta["frame"]``: the framing is redone with line wraps that fit ``width`` (so
    nothing is clipped at 1080 px), the bottom margin is recomputed for the source's lines."""
    # a map is redrawn from its own traces (ui/mapfig.py): copying their GeoJSON would be wasted
    is_map = any(tr.type == "choroplethmap" for tr in fig.data)
    if is_map:
        # per view and size: the page's figure is shared and never changed (ui.figures.framed)
        done = getattr(fig, "_sipas_press", None)
        if done is not None and (width, height) in done:
            return done[(width, height)]
    f = _copy(fig, data=not is_map)
    meta = f.layout.meta if isinstance(f.layout.meta, dict) else {}
    frame = meta.get("frame") if isinstance(meta, dict) else None
    if frame:
        f.layout.annotations = [a for a in f.layout.annotations if a.name not in ("source", "demo-watermark")]
        f.update_layout(margin=dict(b=frame.get("base_b", 40)))
        # wrapped for this width, stacked for this height (legend and source under the plot)
        frame_figure(f, frame["title"], frame["subtitle"], frame["source"], frame["demo"], frame.get("lang", "vi"),
                     height=height, fit_width=width)
    f.update_layout(width=width, height=height, autosize=False, paper_bgcolor="white")
    # the title sits a little lower than on screen: at 2x a diacritic must not touch the edge
    f.update_layout(title=dict(y=1 - 10 / height))
    if not f.layout.font.family:
        f.update_layout(font=dict(family=FONT_FAMILY))
    _fit_rows(f, height)
    _fit_matrix(f, width, height)
    if is_map:
        from .mapfig import press_map
        press_map(f, width, height, source=fig)
        if getattr(fig, "_sipas_press", None) is None:
            fig._sipas_press = {}
        fig._sipas_press[(width, height)] = f
        f._sipas_press_map = True
    elif f.layout.map and f.layout.map.center and f.layout.map.center.lon is not None:
        _fit_map(f, width, height)
    return f


def _copy(fig: go.Figure, data: bool = True) -> go.Figure:
    """A copy of ``fig`` (its traces only when ``data``). plotly's default template is not copied:
    the new figure gets it the way plotly gives it to every new figure, unchecked, where copying
    it checked all of its properties again (about 25 ms of every image)."""
    import plotly.io as pio
    layout = dict(fig.layout.to_plotly_json())
    default = pio.templates[pio.templates.default] if isinstance(pio.templates.default, str) else None
    if default is not None and layout.get("template") == default.to_plotly_json():
        del layout["template"]
    return go.Figure(data=fig.data if data else None, layout=layout)


def _fit_map(f: go.Figure, width: int, height: int) -> None:
    """Centre and zoom a map without choropleth traces on its features for this image's plot area
    (choropleth maps are redrawn as SVG shapes by ui/mapfig.py: WebGL maps were slow to export)."""
    from .figures import _view
    feats = []
    for tr in f.data:
        gj = getattr(tr, "geojson", None)
        if isinstance(gj, dict):
            feats.extend(gj.get("features", []))
    if not feats:
        return
    m = f.layout.margin
    plot_w = width - (m.l or 0) - (m.r or 0)
    plot_h = height - (m.t or 0) - (m.b or 0)
    lon, lat, zoom = _view({"features": feats}, max(plot_w - 60, 100), max(plot_h, 100))
    f.update_layout(map=dict(center=dict(lon=lon, lat=lat), zoom=zoom))


#: the shortest bar row whose name line (19/44 of it) still holds a 13 px name
MIN_ROW_PX = 30


def _fit_rows(f: go.Figure, height: int) -> None:
    """A bar chart with more rows than the image can name legibly (a province's communes in a
    675 px image) keeps its bars, the shape of the ranking, and drops the names and values,
    saying where they are; a withheld row becomes a full-length grey bar, so it is still a
    marked row and never reads as an empty one."""
    from .figures import SUPPRESSED_COLOUR
    from .strings import t
    cats = list(f.layout.yaxis.categoryarray or [])
    names = [a for a in f.layout.annotations if a.name == "row-label"]
    if not cats or not names:
        return
    m = f.layout.margin
    if (height - (m.t or 0) - (m.b or 0)) / len(cats) >= MIN_ROW_PX:
        return
    lang = ((f.layout.meta or {}).get("frame") or {}).get("lang", "vi")
    withheld = {round(a.y) for a in f.layout.annotations if a.name == "withheld-label"}
    f.layout.annotations = [a for a in f.layout.annotations
                            if a.name not in ("row-label", "value-label", "withheld-label")]
    if withheld:
        f.add_trace(go.Bar(y=[cats[i] for i in sorted(withheld)], x=[100] * len(withheld), orientation="h",
                           marker_color=SUPPRESSED_COLOUR, opacity=0.45, width=0.8, offset=-0.4,
                           hoverinfo="skip", showlegend=False, name="withheld"))
    for tr in f.data:
        if tr.type == "bar" and tr.name != "withheld":
            tr.update(width=0.8, offset=-0.4, error_x=dict(thickness=0.8, width=0))
    f.update_layout(margin=dict(r=14))
    f.add_annotation(text=esc(t("press_rows_unlabelled", lang, n=len(cats))), xref="paper", yref="paper", x=0,
                     y=1, yanchor="bottom", xanchor="left", yshift=4, showarrow=False, align="left",
                     font=dict(size=12, color="#444"), name="rows-note")


MATRIX_ROW_PX = 28  # a name line above a row of cells needs about this much (ui/heatmap.py)


def _fit_matrix(f: go.Figure, width: int, height: int) -> None:
    """The criteria matrix (ui/heatmap.py) names each row on a line above its cells, which a
    phone needs; an image too short for that line (31 criteria in a 675 px image) names the
    rows in a left margin instead, beside their cells, in a font the rows can hold, so names
    never run over the cells."""
    bands = [sh for sh in f.layout.shapes if sh.name == "name-bands"]
    names = [a for a in f.layout.annotations if a.name == "row-label"]
    if not bands or not names:
        return
    m = f.layout.margin
    row_px = (height - (m.t or 0) - (m.b or 0)) / len(names)
    if row_px >= MATRIX_ROW_PX:
        return
    size = max(7, min(12, int(row_px) - 3))
    f.layout.shapes = [sh for sh in f.layout.shapes if sh.name != "name-bands"]
    f.layout.annotations = [a for a in f.layout.annotations if a.name != "row-label"]
    longest = max(len(a.text) for a in names)
    left = min(int(width * 0.4), int(12 + 0.55 * size * longest))
    rows = [a.text for a in names]
    f.update_yaxes(range=[len(rows) - 0.5, -0.5], showticklabels=True, tickmode="array",
                   tickvals=list(range(len(rows))), ticktext=rows, tickfont=dict(size=size))
    for tr in f.data:
        if tr.type == "heatmap":
            tr.update(y=list(range(len(rows))), textfont=dict(size=size), ygap=1)
    f.update_layout(margin=dict(l=left))


def figure_key(fig: go.Figure) -> str:
    key = getattr(fig, "_sipas_key", None)  # a press map kept per view hashes its JSON once
    if key is None:
        key = hashlib.sha256(fig.to_json().encode("utf-8")).hexdigest()
        if getattr(fig, "_sipas_press_map", False):
            fig._sipas_key = key
    return key


# ---------------------------------------------------------------------------------------------
# the renderer

def find_browser() -> str | None:
    """The Chromium to drive: $SIPAS_BROWSER or $BROWSER_PATH, else Debian's chromium. Never
    downloads one."""
    env = os.environ.get("SIPAS_BROWSER") or os.environ.get("BROWSER_PATH")
    if env:
        return env if os.path.isfile(env) and os.access(env, os.X_OK) else None
    for cand in (*BROWSER_CANDIDATES, shutil.which("chromium"), shutil.which("chromium-browser")):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


def font_available(family: str = FONT_FAMILY) -> bool | None:
    """True/False from fontconfig (what Chromium uses on Linux); None when it cannot tell."""
    fc = shutil.which("fc-list")
    if not fc:
        return None
    try:
        out = subprocess.run([fc, f"{family}:lang=vi", "family"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return any(family in line.split(",") for line in out.stdout.splitlines())


class Renderer:
    """One headless browser per process, started on first use, reused for every image."""

    def __init__(self, browser: str | None = None, *, timeout: float = 45.0, cache_entries: int = 96):
        self._browser = browser
        self.timeout = timeout
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._kaleido = None
        self._cache: OrderedDict[tuple, bytes] = OrderedDict()
        self._cache_entries = cache_entries
        self._checked: tuple[str, bool | None] | None = None
        self.renders = 0  # browser renders done (cache misses), for tests and benchmarks
        self._reloads: set = set()  # the tabs' reloads after an image (see _calc)
        atexit.register(self.close)

    # -- checks -------------------------------------------------------------------------------
    def check(self) -> str:
        """The browser path; raises BrowserMissing/FontMissing with a plain message."""
        if self._checked is None:
            self._checked = (self._browser or find_browser() or "", font_available())
        path, font = self._checked
        if not path or not os.path.isfile(path):
            raise BrowserMissing("Máy chủ chưa có trình duyệt Chromium để tạo ảnh (cài gói chromium, hoặc đặt "
                                 "SIPAS_BROWSER). / No Chromium is installed on the server to make images.")
        if font is False:
            raise FontMissing("Máy chủ thiếu phông Noto Sans (gói fonts-noto-core), ảnh sẽ sai dấu tiếng Việt. "
                              "/ The Noto Sans font (fonts-noto-core) is missing on the server.")
        return path

    @property
    def running(self) -> bool:
        return self._kaleido is not None

    # -- lifecycle ----------------------------------------------------------------------------
    def _start(self) -> None:
        path = self.check()
        import kaleido  # heavy: only when an image is asked for
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="sipas-renderer", daemon=True)
        thread.start()

        async def _open():
            k = kaleido.Kaleido(n=1, path=path, mathjax=False, timeout=self.timeout)
            await k.open()
            return k
        try:
            self._kaleido = asyncio.run_coroutine_threadsafe(_open(), loop).result(self.timeout)
        except Exception as exc:  # whatever stops the browser starting is told as BrowserMissing
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            log.exception("could not start the renderer's browser")
            raise BrowserMissing(f"Không khởi động được trình duyệt để tạo ảnh / The browser could not start "
                                 f"({exc.__class__.__name__}).") from exc
        self._loop, self._thread = loop, thread
        log.info("renderer started (%s)", path)

    def _stop(self) -> None:
        k, loop, thread = self._kaleido, self._loop, self._thread
        self._kaleido = self._loop = self._thread = None
        if loop is None:
            return
        if k is not None:
            try:
                asyncio.run_coroutine_threadsafe(k.close(), loop).result(15)
            except Exception:  # noqa: BLE001 - a dead browser is fine to forget
                log.warning("renderer browser did not close cleanly")
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(5)

    def close(self) -> None:
        with self._lock:
            self._stop()

    def warm(self) -> None:
        """Start the browser now (e.g. in a benchmark or at deploy time)."""
        with self._lock:
            if self._kaleido is None:
                self._start()

    # -- rendering ----------------------------------------------------------------------------
    def render(self, fig: go.Figure, width: int, height: int, scale: float = SCALE, fmt: str = "png") -> bytes:
        """The figure laid out for ``width`` x ``height`` (see :func:`press_figure`) as PNG or SVG
        bytes; a PNG is ``width*scale`` x ``height*scale`` pixels."""
        if fmt not in ("png", "svg"):
            raise ValueError(f"format {fmt!r}")
        spec = press_figure(fig, width, height)
        key = (figure_key(spec), width, height, scale, fmt)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
            data = self._render_locked(spec, dict(format=fmt, width=width, height=height, scale=scale))
            self._cache[key] = data
            while len(self._cache) > self._cache_entries:
                self._cache.popitem(last=False)
            return data

    async def _calc(self, spec: go.Figure, opts: dict) -> bytes:
        """kaleido's ``calc_fig``, except that the image is handed back as soon as it is made.

        kaleido reloads its tab after every image (a clean page for the next one) and only then
        returns the bytes: about 0.3 s of every image was that reload. Here the reload runs on
        the renderer's loop after the bytes are returned; the next image waits for the tab as it
        always did (kaleido's queue of ready tabs), so every image still starts on a fresh page.
        A kaleido whose internals differ falls back to ``calc_fig``."""
        k = self._kaleido
        try:
            from kaleido import _profiler
            from kaleido._utils import fig_tools
            get_tab, return_tab = k._get_kaleido_tab, k._return_kaleido_tab  # kaleido internals: see above
        except (ImportError, AttributeError):
            return await k.calc_fig(spec, opts=opts)
        js_spec = fig_tools.coerce_for_js(spec, None, opts)
        tab = await get_tab()
        try:
            prof = _profiler.RenderTaskProfile(js_spec, None, tab.tab.target_id)
            return await asyncio.wait_for(tab._calc_fig(js_spec, topojson=None, render_prof=prof,
                                                        stepper=False), self.timeout)
        finally:
            task = asyncio.ensure_future(return_tab(tab))
            self._reloads.add(task)  # kept referenced until done (the loop holds tasks weakly)
            task.add_done_callback(self._reloads.discard)

    def _render_locked(self, spec: go.Figure, opts: dict) -> bytes:
        for attempt in (1, 2):
            if self._kaleido is None:
                self._start()
            fut = asyncio.run_coroutine_threadsafe(self._calc(spec, opts), self._loop)
            try:
                data = fut.result(self.timeout + 5)
                self.renders += 1
                return data
            except FutureTimeout:
                fut.cancel()
                self._stop()
                raise RenderTimeout("Tạo ảnh quá lâu, vui lòng thử lại. / Making the image took too long; "
                                    "please try again.") from None
            except RenderError:
                raise
            except Exception as exc:  # a crashed browser: start a fresh one once
                log.warning("render failed (attempt %s): %r", attempt, exc)
                self._stop()
                if attempt == 2:
                    raise RenderError("Không tạo được ảnh / The image could not be made "
                                      f"({exc.__class__.__name__}).") from exc
        raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------------
# key numbers in Vietnamese

@dataclass
class Facts:
    """The headline cell of a view and what a journalist needs around it."""
    indicator_label: str
    place: str
    year: int
    service_label: str
    value: float | None = None
    suppressed: bool = False
    n: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    prev_year: int | None = None
    prev_value: float | None = None
    prev_restated: bool = False
    rank: float | None = None
    total: int | None = None
    peers: str | None = None       # "đơn vị cấp huyện"
    parent: str | None = None      # "Tỉnh Đồng Tháp"
    official: bool = False         # the value is an official (published) figure, no forms behind it

    @property
    def change(self) -> float | None:
        if _missing(self.value) or _missing(self.prev_value):
            return None
        return float(self.value) - float(self.prev_value)


def _missing(x) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def headline_facts(read, years, *, year: int, unit: str, service: str, indicator: str, country: str = "VN",
                   labels: dict | None = None) -> Facts:
    """Facts of the cell (year, unit, service, indicator) from ``read`` (``Release.read`` or the
    app's cached reader, same keywords). ``labels``: indicator, place, service, peers, parent
    (human names, the caller knows them)."""
    labels = labels or {}
    f = Facts(labels.get("indicator", indicator), labels.get("place", unit), year, labels.get("service", service))
    row = queries.headline(read, year=year, unit=unit, service=service, indicator=indicator)
    if row is None:
        return f
    f.official = row["source"] == "official"
    f.suppressed = bool(row["suppressed"])
    f.value = None if f.suppressed else float(row["value"])
    f.n = None if _missing(row["n"]) else float(row["n"])
    f.ci_low = None if _missing(row["ci_low"]) or f.suppressed else float(row["ci_low"])
    f.ci_high = None if _missing(row["ci_high"]) or f.suppressed else float(row["ci_high"])
    prev = queries.previous(read, years, year=year, unit=unit, service=service, indicator=indicator,
                            country=country)
    if prev.row is not None and not bool(prev.row["suppressed"]) and prev.value is not None:
        f.prev_year, f.prev_value, f.prev_restated = prev.year, prev.value, prev.restated
    rank = queries.rank_of(read, row, year=year, service=service, indicator=indicator)
    if rank is not None:
        f.rank, f.total = rank.rank, rank.total
        f.peers = labels.get("peers")
        f.parent = labels.get("parent")
    return f


def key_numbers_text(f: Facts, source: str, *, demo: bool, link: str | None = None) -> str:
    """A paragraph to paste into an article (always Vietnamese, decimal comma), e.g.
    "Năm 2024, Chỉ số SIPAS của Thành phố Hồng Ngự đạt 80,12%, tăng 1,35 điểm % so với năm 2023,
    xếp thứ 3/12 đơn vị cấp huyện của Tỉnh Đồng Tháp (n = 1.234 phiếu; khoảng tin cậy 95%:
    78,90–81,30%). Nguồn: …"."""
    lang = "vi"
    svc = "" if f.service_label in ("", "Tất cả dịch vụ", "All services") else f" đối với dịch vụ {f.service_label}"
    subject = f"{f.indicator_label} của {f.place}{svc}"
    if f.value is None and f.suppressed:
        # a withheld cell has no n: it is under the threshold, or withheld so that another
        # withheld cell cannot be worked out from it
        body = (f"Năm {f.year}, {subject} không được công bố (dưới ngưỡng số câu trả lời, "
                "hoặc để không suy ra được ô khác).")
    elif f.value is None:
        body = f"Năm {f.year}, không có số liệu {subject}."
    else:
        parts = [f"Năm {f.year}, {subject} đạt {fmt.pct(f.value, lang)}"]
        ch = f.change
        if ch is not None:
            restated = " (số liệu năm trước tính lại trên đơn vị hành chính mới)" if f.prev_restated else ""
            if round(ch, 2) == 0:
                parts.append(f"không đổi so với năm {f.prev_year}{restated}")
            else:
                word = "tăng" if ch > 0 else "giảm"
                parts.append(f"{word} {fmt.num(abs(ch), lang)} điểm % so với năm {f.prev_year}{restated}")
        if f.rank is not None and f.total:
            where = f" {f.peers}" if f.peers else ""
            of = f" của {f.parent}" if f.parent else ""
            parts.append(f"xếp thứ {fmt.count(f.rank, lang)}/{fmt.count(f.total, lang)}{where}{of}")
        paren = []
        if f.n is not None:
            paren.append(f"n = {fmt.count(f.n, lang)} phiếu")
        if f.ci_low is not None and f.ci_high is not None:
            paren.append(f"khoảng tin cậy 95%: {fmt.interval(f.ci_low, f.ci_high, lang)}%")
        if f.official:
            paren.append("số liệu chính thức đã công bố")
        body = ", ".join(parts) + (f" ({'; '.join(paren)})" if paren else "") + "."
    lines = []
    if demo:
        lines.append("LƯU Ý: ĐÂY LÀ DỮ LIỆU MINH HỌA (DEMO DATA), KHÔNG PHẢI SỐ LIỆU CHÍNH THỨC, "
                     "KHÔNG DÙNG ĐỂ ĐĂNG TIN.")
    lines.append(body)
    lines.append(source if source.startswith("Nguồn") else f"Nguồn: {source}")
    if link:
        lines.append(f"Xem và tải số liệu: {link}")
    return "\n\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# the press kit

def image_name(base: str, index: int, name: str, size: str, fmt_: str = "png") -> str:
    w, h = SIZES[size]
    return f"{base}-{index:02d}-{export.slug(name)}-{size}-{w}x{h}.{fmt_}"


def press_kit(renderer: Renderer, figures: list[tuple[str, go.Figure]], frame, text: str, *, base: str,
              notes: list[str] | None = None) -> bytes:
    """ZIP bytes: every figure at both press sizes (PNG, 2x), the data shown (CSV and XLSX, when
    ``frame`` is given: a data frame, or the view's download, ``ui.export.ViewDownload``, whose
    files are the page's own, labelled and with their provenance) and ``so-lieu-chinh.txt`` with
    the key numbers."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (name, fig) in enumerate(figures, start=1):
            for size, (w, h) in SIZES.items():
                z.writestr(image_name(base, i, name, size), renderer.render(fig, w, h, SCALE, "png"))
        if isinstance(frame, export.ViewDownload):
            z.writestr(f"{base}-data.csv", frame.csv())
            z.writestr(f"{base}-data.xlsx", frame.xlsx())
        elif frame is not None:
            z.writestr(f"{base}-data.csv", export.csv_bytes(frame))
            z.writestr(f"{base}-data.xlsx", export.xlsx_bytes(frame, notes=notes))
        z.writestr("so-lieu-chinh.txt", text.encode("utf-8"))
    return buf.getvalue()
