"""Press images: pixel sizes, not blank, title/source/watermark inside the image, one warm browser,
cache, and a clear error without a browser. PNGs go to test-artifacts/ for a person to look at."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ui import figures, maps, press, views

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
NAMES = ["Thành phố Cao Lãnh", "Thành phố Sa Đéc", "Thành phố Hồng Ngự", "Huyện Tân Hồng", "Huyện Hồng Ngự",
         "Huyện Tam Nông", "Huyện Thanh Bình", "Huyện Tháp Mười", "Huyện Cao Lãnh", "Huyện Lấp Vò",
         "Huyện Lai Vung", "Huyện Châu Thành", "Huyện Mười Ba", "Huyện Mười Bốn"]

pytestmark = pytest.mark.skipif(press.find_browser() is None, reason="no Chromium to render with")


@pytest.fixture(scope="module")
def release(demo_release_root):
    from sipas_data.release import open_release
    return open_release(root=demo_release_root)


@pytest.fixture(scope="module")
def renderer():
    r = press.Renderer()
    yield r
    r.close()


def _ranking(release, *, title="Chỉ số SIPAS của các đơn vị cấp huyện", subtitle=None, source=None, demo=None):
    cells = release.read(year=2024, level="district", parent="87")
    codes = list(cells["unit_code"])
    names = dict(zip(codes, NAMES))  # fixed labels: the test is about the frame, not the data
    mc = views.map_cells(cells, codes, names).sort_values("value", ascending=False)
    fig = figures.bar_ci(mc["name"].tolist(), mc["value"].tolist(), mc["ci_low"].tolist(), mc["ci_high"].tolist(),
                         mc["n"].tolist(), "vi", suppressed=mc["suppressed"].tolist())
    return figures.frame_figure(
        fig, title, "Tỉnh Đồng Tháp · 2024 · Tất cả dịch vụ · n = 12.345" if subtitle is None else subtitle,
        figures.source_line(release, "vi") if source is None else source,
        release.is_demo if demo is None else demo, "vi")


def _map(release):
    cells = release.read(year=2024, level="district", parent="87")
    codes = list(cells["unit_code"])
    mc = views.map_cells(cells, codes, {c: c for c in codes})
    fig = figures.choropleth(maps.tiles_geojson(codes, "2019"), mc, "sipas", "vi")
    return figures.frame_figure(fig, "Chỉ số SIPAS theo đơn vị cấp huyện", "Tỉnh Đồng Tháp · 2024",
                                figures.source_line(release, "vi"), release.is_demo, "vi", height=620)


def _img(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(__import__("io").BytesIO(data)).convert("RGB")).astype(int)


def _ink(a: np.ndarray) -> int:
    """Pixels clearly darker than the white background."""
    return int((a.sum(axis=2) < 600).sum())


def _save(name: str, data: bytes) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_bytes(data)


@pytest.mark.parametrize("size", list(press.SIZES))
def test_png_has_the_press_size_at_2x_and_is_not_blank(release, renderer, size):
    w, h = press.SIZES[size]
    data = renderer.render(_ranking(release), w, h, 2, "png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(__import__("io").BytesIO(data))
    assert img.size == (2 * w, 2 * h)
    a = _img(data)
    assert a.std() > 20, "the image is (nearly) one colour"
    _save(f"press_ranking_{size}.png", data)


@pytest.mark.parametrize("size", list(press.SIZES))
def test_title_and_source_are_inside_the_image(release, renderer, size):
    """Against the same figure framed with empty title/subtitle/source: the top band (title) and
    the bottom band (source) hold ink only when there is a title and a source."""
    w, h = press.SIZES[size]
    full = _img(renderer.render(_ranking(release, demo=False), w, h))
    bare_png = renderer.render(_ranking(release, title="", subtitle="", source="", demo=False), w, h)
    _save(f"press_bare_{size}.png", bare_png)
    bare = _img(bare_png)
    top = slice(0, int(2 * 60))             # the title and subtitle lines (CSS px 0..60)
    # the source line: last 30 CSS px, left third (the centred x-axis title may come close)
    bottom = (slice(2 * h - 2 * 30, 2 * h), slice(0, 2 * w // 3))
    assert _ink(full[top]) > 1500 and _ink(bare[top]) < 50
    assert _ink(full[bottom]) > 300 and _ink(bare[bottom]) < 50
    # the title is left-aligned: ink starts near the left edge, and the source is not clipped at the right
    cols = np.where((full[top].sum(axis=2) < 600).any(axis=0))[0]
    assert cols.min() < 2 * 40 and cols.max() < 2 * w - 4


def test_demo_watermark_is_drawn_in_the_middle(release, renderer):
    w, h = press.SIZES["news"]
    demo = _img(renderer.render(_ranking(release, demo=True), w, h))
    plain = _img(renderer.render(_ranking(release, demo=False), w, h))
    mid = (slice(2 * h // 3, 4 * h // 3), slice(2 * w // 4, 6 * w // 4))
    diff = np.abs(demo[mid] - plain[mid]).sum(axis=2)
    assert (diff > 30).sum() > 2000, "no watermark in the middle of a demo image"
    r, g, b = (demo[mid][..., i] for i in range(3))
    assert ((r - g > 25) & (r - b > 15)).sum() > 500, "the watermark is not reddish"


def test_map_renders_at_both_sizes(release, renderer):
    for size, (w, h) in press.SIZES.items():
        data = renderer.render(_map(release), w, h)
        a = _img(data)
        assert a.shape[:2] == (2 * h, 2 * w)
        # the hexagons are coloured (blue-green) pixels, not just text on white
        blue = (a[..., 2] - a[..., 0] > 40).sum()
        assert blue > 20_000, f"no map drawn at {size}"
        _save(f"press_map_{size}.png", data)


def test_svg_keeps_title_and_source_as_text(release, renderer):
    svg = renderer.render(_ranking(release), 1200, 675, 1, "svg").decode("utf-8")
    assert svg.lstrip().startswith("<svg")
    assert 'width="1200"' in svg and 'height="675"' in svg
    assert "Chỉ số SIPAS của các đơn vị cấp huyện" in svg
    assert "Nguồn:" in svg and release.publisher in svg
    assert "DỮ LIỆU MINH HỌA / DEMO DATA" in svg


def test_one_browser_is_kept_and_bytes_are_cached(release, renderer):
    renderer.warm()
    k = renderer._kaleido
    fig = _ranking(release, title="Hình kiểm tra bộ nhớ đệm")
    before = renderer.renders
    a = renderer.render(fig, 1080, 1080)
    b = renderer.render(fig, 1080, 1080)
    assert a == b and renderer.renders == before + 1      # the second one came from the cache
    renderer.render(_ranking(release, title="Hình khác"), 1080, 1080)
    assert renderer.renders == before + 2
    assert renderer._kaleido is k                           # same browser, not one per image


def test_an_image_comes_back_before_its_tab_reloads_and_the_next_starts_on_a_fresh_page(release, renderer):
    import asyncio
    renderer.warm()
    k = renderer._kaleido
    events, original = [], k._return_kaleido_tab

    async def slow_reload(tab):  # kaleido reloads the tab after every image: made slow to see the order
        await asyncio.sleep(1.0)
        events.append("reloaded")
        await original(tab)
    k._return_kaleido_tab = slow_reload
    try:
        first = renderer.render(_ranking(release, title="Hình trước khi nạp lại"), 1200, 675)
        events.append("first image")
        second = renderer.render(_ranking(release, title="Hình sau khi nạp lại"), 1200, 675)
        events.append("second image")
    finally:
        del k._return_kaleido_tab
    # the first image did not wait for the reload; the second waited for it (a fresh page each)
    assert events[:3] == ["first image", "reloaded", "second image"]
    assert first != second and _img(second).shape == (1350, 2400, 3)


def test_long_titles_are_wrapped_for_the_narrow_size(release):
    long = "Chỉ số hài lòng về sự phục vụ hành chính của các xã, phường, thị trấn thuộc huyện " * 2
    f = press.press_figure(_ranking(release, title=long), 1080, 1080)
    first = f.layout.title.text.split("<br>")[0]
    assert len(first) <= (1080 - 30) / 10.5 + 10
    assert f.layout.width == 1080 and f.layout.height == 1080 and f.layout.paper_bgcolor == "white"
    assert "Noto Sans" in f.layout.font.family


def test_missing_browser_is_a_clear_error(release, tmp_path):
    r = press.Renderer(browser=str(tmp_path / "no-chromium"))
    with pytest.raises(press.BrowserMissing) as exc:
        r.render(_ranking(release), 1200, 675)
    assert "Chromium" in str(exc.value)
    assert not r.running


@pytest.mark.parametrize("size", list(press.SIZES))
def test_bars_from_zero_values_clear_of_whiskers_and_withheld_row_labelled(renderer, size):
    """Measured on the PNG: a bar of 80 is 80 % of the plot's width from its left edge, the
    withheld row has no bar but its grey label, and the value column right of the plot holds the
    values with nothing drawn between a whisker's end and the plot's right edge."""
    w, h = press.SIZES[size]
    fig = figures.frame_figure(
        figures.bar_ci(["Huyện A", "Huyện B", "Huyện C"], [80.0, 70.0, 60.0], [78.0, 66.0, 58.0],
                       [82.0, 74.0, 62.0], [900, 20, 700], "vi", suppressed=[False, True, False]),
        "Xếp hạng", "Tỉnh Đồng Tháp · 2024", "Nguồn: X", False, "vi")
    data = renderer.render(fig, w, h)
    _save(f"press_bars_withheld_{size}.png", data)
    a = _img(data)
    spec = press.press_figure(fig, w, h)
    m, bar = spec.layout.margin, spec.data[0]
    x0, x1 = 2 * m.l, 2 * (w - m.r)
    row_px = 2 * (h - m.t - m.b) / 3

    def centre(i):
        return int(2 * m.t + (i + bar.offset + bar.width / 2 + 0.5) * row_px)

    def blue(row):
        r, g, b = row[:, 0], row[:, 1], row[:, 2]
        return np.where((abs(r - 31) < 20) & (abs(g - 95) < 20) & (abs(b - 168) < 20))[0]

    line = a[centre(0) + 12]  # off the whisker, which covers the bar's end at its centre
    cols = blue(line)
    assert cols.min() <= x0 + 4                                    # the bar starts at the axis' 0
    assert abs((cols.max() - x0) / (x1 - x0) - 0.80) < 0.01        # and its length is its value
    assert len(blue(a[centre(1)])) == 0                            # the withheld row has no bar
    grey = a[centre(1) - 12:centre(1) + 12, x0:x0 + 2 * 160]
    assert ((abs(grey - 107) < 40).all(axis=2) & (grey.sum(axis=2) < 450)).sum() > 100  # its label
    for i, v in ((0, 82.0), (2, 62.0)):
        ys = slice(centre(i) - 8, centre(i) + 8)
        whisker_end = int(x0 + (x1 - x0) * v / 100)
        assert _ink(a[ys, whisker_end + 6:x1 - 2]) == 0             # nothing crosses into the values
        assert _ink(a[ys, x1:2 * w]) > 60                           # the value is drawn, in its column
    assert _ink(a[:, 2 * w - 4:]) == 0 and _ink(a[2 * h - 4:]) == 0  # nothing clipped at the edges
