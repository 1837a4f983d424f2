"""Chart layout on the figure objects (no browser): bars from 0, withheld rows labelled, value
labels clear of the interval whiskers, and the framing stacked so that title, plot, ticks, legend
and source never overlap, at a phone's width and at the press sizes."""
import pandas as pd
import pytest

from ui import figures, press
from ui.strings import t

LONG = "Tiếp nhận, xử lý góp ý, phản ánh, kiến nghị"
PHONE_CHART_PX = 358  # a 390 px viewport less Streamlit's padding


def _ranking(**kw):
    return figures.bar_ci(["Huyện A", LONG, "Huyện C"], [87.43, 80.0, 71.14], [86.0, 78.0, 70.0],
                          [88.9, 82.0, 72.3], [900, 40, 700], "vi", **kw)


def _grouped(suppress=("B", "Thủ tục hành chính")):
    rows = []
    for s_i, series in enumerate(["A", "B", "C"]):
        for j, label in enumerate(["Tiếp cận dịch vụ", "Thủ tục hành chính", LONG]):
            rows.append(dict(series=series, label=label, value=70.0 + s_i + j, ci_low=68.0 + s_i + j,
                             ci_high=72.0 + s_i + j, n=100, suppressed=(series, label) == suppress))
    return pd.DataFrame(rows)


def _trend(series=("Đăng ký khai sinh", "Chứng thực")):
    return pd.DataFrame([dict(series=s, year=y, value=80.0, ci_low=78.0, ci_high=82.0, n=100, restated=False)
                         for s in series for y in range(2018, 2025)])


def _frame(fig, title="Chỉ số SIPAS của các đơn vị cấp huyện", sub="Tỉnh Đồng Tháp · 2024 · n = 13.361 phiếu",
           src="Nguồn: SIPAS dashboard (dữ liệu minh hoạ / demo data), Dữ liệu minh hoạ: Đồng Tháp 2018–2025"):
    return figures.frame_figure(fig, title, sub, src, True, "vi")


def _ann(fig, name):
    return [a for a in fig.layout.annotations if a.name == name]


@pytest.mark.parametrize("indicator", ["sipas", "element:access", "expectation:3"])
def test_every_bar_builder_starts_its_value_axis_at_zero(indicator):
    """80 must not look like 89 % of 90: the bar's length is its value, whatever the indicator."""
    assert tuple(_ranking(indicator=indicator).layout.xaxis.range) == (0, 100)
    assert tuple(figures.grouped_bars(_grouped(), "vi", indicator=indicator).layout.xaxis.range) == (0, 100)


def test_a_withheld_row_keeps_its_place_with_its_label():
    fig = _ranking(suppressed=[False, True, False])
    bar = fig.data[0]
    assert list(bar.y) == ["Huyện A", LONG.replace(",", ","), "Huyện C"]  # the row is there, not dropped
    assert bar.x[1] is None and bar.error_x.array[1] is None           # no bar, no whisker, no value
    withheld = _ann(fig, "withheld-label")
    assert len(withheld) == 1 and t("suppressed_class", "vi") in withheld[0].text
    assert 0.5 < withheld[0].y < 1.5                                    # in the second row
    assert [a.text for a in _ann(fig, "value-label")] == ["87,43", "71,14"]
    # a value missing without being withheld says "no data", not "withheld"
    nodata = _ann(figures.bar_ci(["A", "B"], [80.0, float("nan")], [79.0, None], [81.0, None], [100, None], "vi"),
                  "withheld-label")
    assert [a.text for a in nodata] == [f"<i>{t('no_data_class', 'vi')}</i>"]


def test_grouped_bars_label_the_withheld_bar_in_its_group():
    fig = figures.grouped_bars(_grouped(), "vi")
    withheld = _ann(fig, "withheld-label")
    assert len(withheld) == 1 and t("suppressed_class", "vi") in withheld[0].text
    b = fig.data[1]  # series B
    row = 1          # "Thủ tục hành chính"
    assert b.x[row] is None
    assert row + b.offset < withheld[0].y < row + b.offset + b.width  # on B's own bar line
    assert len(_ann(fig, "value-label")) == 8


def test_value_labels_sit_right_of_the_plot_where_no_whisker_reaches():
    fig = _ranking()
    for a in _ann(fig, "value-label"):
        assert (a.xref, a.x, a.xanchor) == ("paper", 1, "left")
    # whiskers end inside the plot: value + plus <= the axis maximum
    bar = fig.data[0]
    assert all(v + p <= fig.layout.xaxis.range[1] for v, p in zip(bar.x, bar.error_x.array))
    # the value column fits "87,43" at 12 px (about 7 px a character) plus its 4 px gap
    assert fig.layout.margin.r >= 4 + 7 * len("87,43")


def test_row_labels_sit_above_their_bars_in_a_row_tall_enough():
    fig = _ranking()
    bar = fig.data[0]
    labels = _ann(fig, "row-label")
    assert [a.text for a in labels] == ["Huyện A", LONG, "Huyện C"]
    row_px = (fig.layout.height - fig.layout.margin.t - fig.layout.margin.b) / 3
    assert row_px == 19 + 18 + 7  # label line, bar, gap
    for i, a in enumerate(labels):
        # the label's baseline is the bar's top: it grows upwards, into its own line
        assert a.yanchor == "bottom" and a.y == pytest.approx(i + bar.offset)
        label_px = (a.y - (i - 0.5)) * row_px
        assert label_px >= a.font.size + 4
    # the label line spans the plot's width, not a left margin: the longest element name fits a
    # phone's plot (13 px Noto Sans: 261 px for it in Chromium, 6.1 px a character; 6.4 here)
    plot_w = PHONE_CHART_PX - fig.layout.margin.l - fig.layout.margin.r
    assert 6.4 * len(LONG) <= plot_w
    # a label longer than a phone line is shortened, with the full name in the hover
    very_long = "Ủy ban nhân dân xã Tân Thuận Đông, Thành phố Cao Lãnh, Tỉnh Đồng Tháp"
    f2 = figures.bar_ci([very_long], [80.0], [79.0], [81.0], [100], "vi")
    assert _ann(f2, "row-label")[0].text.endswith("…") and len(_ann(f2, "row-label")[0].text) <= 44
    assert very_long in f2.data[0].hovertext[0]


def test_height_is_rows_plus_frame_hand_worked():
    fig = _frame(_ranking(), title="Xếp hạng")
    # builder: 3 rows x 44 + 26 (ticks) + 4 = 162; frame: title 1 line (22), subtitle 1 line (17),
    # 14 + 10 padding, source 2 lines (2 x 15) + 12
    assert fig.layout.margin.t == 14 + 22 + 17 + 10 + 4
    assert fig.layout.margin.b == 26 + 2 * 15 + 12
    assert fig.layout.height == 162 + (14 + 22 + 17 + 10) + (2 * 15 + 12)


@pytest.mark.parametrize("builder", ["bar_ci", "grouped", "trend"])
def test_screen_lines_fit_a_phone(builder):
    fig = {"bar_ci": _ranking, "grouped": lambda: figures.grouped_bars(_grouped(), "vi"),
           "trend": lambda: figures.trend(_trend(), "vi")}[builder]()
    long_sub = "Thành phố Cao Lãnh, Thành phố Sa Đéc, Thành phố Hồng Ngự · 2024 · Tất cả dịch vụ · n = 1.215 / 933"
    fig = _frame(fig, title="Chỉ số SIPAS của Thành phố Hồng Ngự qua các năm", sub=long_sub)
    head, rest = fig.layout.title.text.split("</b>")
    for line in head.replace("<b>", "").split("<br>"):
        assert 9.3 * len(line) <= PHONE_CHART_PX - 8, line        # 17 px bold
    sub = rest.split(">", 2)[-1].replace("</span>", "")
    for line in sub.split("<br>"):
        if line:
            assert 7.0 * len(line) <= PHONE_CHART_PX - 8, line    # 13 px
    src = _ann(fig, "source")[0].text
    for line in src.split("<br>"):
        assert 6.2 * len(line) <= PHONE_CHART_PX - 8, line        # 11 px
    lines = head.count("<br>") + 1 + sub.count("<br>") + 1
    assert fig.layout.margin.t >= 14 + 17 * lines                  # the plot starts under the title


def test_trend_legend_and_source_stack_under_the_years():
    fig = _frame(figures.trend(_trend(("A", "B", "C")), "vi"))
    assert fig.layout.xaxis.title.text is None            # no "Năm" title for the legend to sit on
    m = fig.layout.margin
    plot_h = fig.layout.height - m.t - m.b
    legend_top_px = -fig.layout.legend.y * plot_h           # below the plot's bottom edge
    assert fig.layout.legend.orientation == "v" and fig.layout.legend.yanchor == "top"
    assert legend_top_px >= 24                              # under the year ticks
    src = _ann(fig, "source")[0]
    assert -src.yshift >= 24 + 3 * figures.LEGEND_ROW_PX     # under the three legend rows
    assert m.b >= -src.yshift + figures.SOURCE_LINE_PX * (src.text.count("<br>") + 1)


@pytest.mark.parametrize("size", list(press.SIZES))
def test_press_layout_restacks_for_the_image(size):
    w, h = press.SIZES[size]
    fig = press.press_figure(_frame(figures.trend(_trend(("A", "B", "C", "D")), "vi")), w, h)
    m = fig.layout.margin
    assert (fig.layout.width, fig.layout.height) == (w, h)
    plot_h = h - m.t - m.b
    assert plot_h > 250
    assert -fig.layout.legend.y * plot_h == pytest.approx(26)   # 24 px of ticks + 2
    src = _ann(fig, "source")[0]
    assert -src.yshift == 24 + 4 * figures.LEGEND_ROW_PX + 8  # ticks, four legend rows, a gap
    # the source and legend are not framed twice
    assert len(_ann(fig, "source")) == 1 and len(_ann(fig, "demo-watermark")) == 1
    bars = press.press_figure(_frame(_ranking(suppressed=[False, True, False])), w, h)
    assert tuple(bars.layout.xaxis.range) == (0, 100) and len(_ann(bars, "withheld-label")) == 1


def test_press_image_with_more_bars_than_it_can_name_keeps_the_bars_and_says_where_the_names_are():
    n = 141
    names = [f"Xã {i}" for i in range(n)]
    sup = [i in (139, 140) for i in range(n)]
    fig = _frame(figures.bar_ci(names, [90 - i * 0.2 for i in range(n)], [88 - i * 0.2 for i in range(n)],
                                [92 - i * 0.2 for i in range(n)], [100] * n, "vi", suppressed=sup))
    assert len(_ann(fig, "row-label")) == n                   # on screen every row is named
    f = press.press_figure(fig, 1200, 675)
    assert not _ann(f, "row-label") and not _ann(f, "value-label") and not _ann(f, "withheld-label")
    note = _ann(f, "rows-note")
    assert len(note) == 1 and note[0].text.startswith("141 đơn vị")
    grey = [tr for tr in f.data if tr.name == "withheld"]
    assert len(grey) == 1 and list(grey[0].y) == ["Xã 139", "Xã 140"] and list(grey[0].x) == [100, 100]
    assert tuple(f.layout.xaxis.range) == (0, 100)
    # the figure on screen is untouched (press_figure works on a copy)
    assert len(_ann(fig, "row-label")) == n and len(fig.data) == 1
    # a few rows fit a news image: named and valued as on screen
    few = press.press_figure(_frame(_ranking()), 1200, 675)
    assert len(_ann(few, "row-label")) == 3 and not _ann(few, "rows-note")


def _texts(fig):
    tr = next(tr for tr in fig.data if tr.name == "row-texts")
    return list(zip(tr.text, tr.y, tr.textposition, tr.x))


def test_on_screen_the_row_names_values_and_withheld_labels_are_one_text_trace_in_their_places():
    fig = _frame(_ranking(suppressed=[False, True, False], reference=80.0, reference_label="Tỉnh <b>X</b>"))
    screen = figures.screen_figure(fig)
    assert figures.screen_figure(fig) is screen                      # made once per (shared) figure
    assert not [a for a in screen.layout.annotations if a.name in figures.ROW_TEXTS]
    # the source, watermark and reference line's name stay annotations
    assert {a.name for a in screen.layout.annotations} == {"source", "demo-watermark", "reference-label"}
    rows = _texts(screen)
    names = [(txt, y) for txt, y, where, x in rows if where == "top right"]
    values = [(txt, y, x) for txt, y, where, x in rows if where == "middle right" and x == 100]
    withheld = [(txt, y, x) for txt, y, where, x in rows if where == "middle right" and x == 0]
    assert [x.strip("\u00a0") for x, _ in names] == ["Huyện A", LONG, "Huyện C"]
    assert [x.strip("\u00a0") for x, _, _ in values] == ["87,43", "71,14"]
    assert len(withheld) == 1 and t("suppressed_class", "vi") in withheld[0][0]
    # each text on its own row, within 2 px (of a 44 px row) of the annotation it stands for
    for kind, got in (("row-label", [y for _, y in names]), ("value-label", [y for _, y, _ in values]),
                      ("withheld-label", [y for _, y, _ in withheld])):
        want = [a.y for a in _ann(fig, kind)]
        assert len(got) == len(want) and all(abs(g - w) <= 2 / 44 + 1e-9 for g, w in zip(got, want)), kind
    assert 0.5 < withheld[0][1] < 1.5
    # the hidden axis of the texts is the category axis' range, so a text lands on its row
    assert tuple(screen.layout.yaxis2.range) == tuple(fig.layout.yaxis.range) and screen.layout.yaxis2.overlaying == "y"
    assert screen.data[-1].hoverinfo == "skip" and screen.data[-1].cliponaxis is False
    # the bars and the frame are the figure's own; the figure itself keeps its annotations (the
    # text twin and press images read them)
    assert screen.data[0].x == fig.data[0].x and screen.layout.title.text == fig.layout.title.text
    assert len(_ann(fig, "row-label")) == 3 and len(fig.data) == 1


def test_on_screen_grouped_bars_keep_each_series_colour_and_a_heatmap_is_left_as_it_is():
    fig = _frame(figures.grouped_bars(_grouped(), "vi"))
    rows = _texts(figures.screen_figure(fig))
    assert sum(1 for _, _, where, _ in rows if where == "top right") == 3
    tr = next(tr for tr in figures.screen_figure(fig).data if tr.name == "row-texts")
    colours = {c for (txt, _, where, x), c in zip(rows, tr.textfont.color) if x == 100}
    assert colours == set(figures.PALETTE[:3])
    other = _frame(figures.trend(_trend(), "vi"))
    assert figures.screen_figure(other) is other
