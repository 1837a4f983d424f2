"""The Services page's criteria matrix (ui/heatmap.py): the fixed colour scale worked by hand, the
phone-first chart (a name line above each row of cells, units named above their columns, the colour
bar under the plot), withheld cells labelled, names escaped, the table form, and the widths that fit
the pages' tables on a 390 px phone (ui/tables.py)."""
import re

import pandas as pd
import pytest

from ui import a11y, figures, heatmap, tables
from ui.strings import t

PHONE_CHART_PX = 358  # a 390 px viewport less Streamlit's padding
LONG = "Có hình thức phản hồi kết quả thực hiện chính sách, nhanh chóng, công khai và đầy đủ"
HOSTILE = "<b>Xã</b> & <img src=x onerror=alert(1)>"


def _matrix():
    m = pd.DataFrame({"Huyện A": [80.54, None, 61.0], HOSTILE: [70.0, 75.26, None], "Huyện C": [99.0, 55.0, 52.5]},
                     index=["Thông tin dễ tìm", LONG, "Phí đúng quy định"])
    held = pd.DataFrame(False, index=m.index, columns=m.columns)
    held.loc[LONG, "Huyện A"] = True  # withheld; (Phí đúng quy định, HOSTILE) is simply missing
    return m, held


@pytest.mark.parametrize("value,indicator,colour", [
    (50, "sipas", "#ffffd9"), (100, "sipas", "#081d58"), (75, "sipas", "#41b6c4"),  # the stops themselves
    (56.25, "item:x", "#edf8b1"),                  # 0.125 of 50-100
    (53.125, "sipas", "#f6fcc5"),                  # half-way between #ffffd9 and #edf8b1
    (40, "sipas", "#ffffd9"), (104, "sipas", "#081d58"),  # beyond the bounds: the end colours
    (50, "expectation:3", "#41b6c4"),              # 0-100 for expectations: 50 is the middle
])
def test_colour_of_follows_the_fixed_scale(value, indicator, colour):
    assert heatmap.colour_of(value, indicator) == colour


def test_no_value_has_no_colour_and_text_reads_on_both_ends():
    assert heatmap.colour_of(float("nan")) is None and heatmap.colour_of(None) is None
    assert heatmap.text_colour("#ffffd9") == "#111111"
    assert heatmap.text_colour("#081d58") == "#ffffff"


def test_chart_values_withheld_cells_and_escaped_names():
    m, held = _matrix()
    fig = heatmap.criteria_heatmap(m, "vi", withheld=held)
    tr = fig.data[0]
    assert tr.type == "heatmap" and list(tr.colorscale) == [tuple(x) for x in figures.SCALE]
    assert (tr.zmin, tr.zmax) == (50.0, 100.0)
    assert list(tr.x) == ["Huyện A", "&lt;b&gt;Xã&lt;/b&gt; &amp; &lt;img src=x onerror=alert(1)&gt;", "Huyện C"]
    assert [list(r) for r in tr.text] == [["80,5", "70,0", "99,0"], ["–", "75,3", "55,0"], ["61,0", "–", "52,5"]]
    # the hover tells a withheld cell from a missing one
    assert t("suppressed_class", "vi") in tr.customdata[1][0]
    assert t("no_data_class", "vi") in tr.customdata[2][1]
    assert tr.customdata[0][0] == "80,54%"
    assert tr.hovertemplate.startswith("<b>%{x}</b><br>%{y}<br>%{customdata}")  # the escaped names
    every = [str(x) for x in (*tr.x, *fig.layout.xaxis.ticktext, *(a.text for a in fig.layout.annotations),
                              *(c for row in tr.customdata for c in row))]
    assert not any("<img" in x or "<b>Xã" in x for x in every)


def test_chart_rows_are_a_name_line_over_full_width_cells():
    m, held = _matrix()
    fig = heatmap.criteria_heatmap(m, "vi", withheld=held)
    labels = [a for a in fig.layout.annotations if a.name == "row-label"]
    assert [a.text for a in labels] == ["Thông tin dễ tìm", LONG[:heatmap.ROW_LABEL_CHARS - 1] + "…",
                                        "Phí đúng quy định"]
    assert all(a.x == 0 and a.xref == "paper" and a.xanchor == "left" for a in labels)
    row_px = heatmap.ROW_LABEL_PX + heatmap.CELL_PX
    plot_h = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    assert plot_h == 3 * row_px
    lo, hi = fig.layout.yaxis.range  # reversed: the first row on top
    px = plot_h / (lo - hi)          # pixels per row

    def from_top(y):
        return (y - hi) * px
    shape = next(b for b in fig.layout.shapes if b.name == "name-bands")
    assert shape.fillcolor == "white" and shape.layer == "above" and (shape.xref, shape.yref) == ("paper", "y")
    # the path's rectangles: M0,y0 H1 V y1 H0 Z, the full width, from y0 to y1
    rects = re.findall(r"M0,(-?[\d.]+)H1V(-?[\d.]+)H0Z", shape.path)
    assert len(rects) == 4 and "".join(f"M0,{a}H1V{b}H0Z" for a, b in rects) == shape.path
    bands = [(float(a), float(b)) for a, b in rects]
    for i, a in enumerate(labels):
        top, bottom = from_top(bands[i][0]), from_top(bands[i][1])   # the white band above row i
        assert (top, bottom) == pytest.approx((i * row_px, i * row_px + heatmap.ROW_LABEL_PX), abs=1e-3)
        centre = from_top(a.y)
        assert top <= centre - 7 and centre + 7 <= bottom   # a 12 px name line, in the band above its cells
        # what shows of the row's cells: from this band to the next, the row's centre in the middle
        cells_top, cells_bottom = bottom, from_top(bands[i + 1][0])
        assert cells_bottom - cells_top == pytest.approx(heatmap.CELL_PX, abs=1e-3)
        assert from_top(i) == pytest.approx((cells_top + cells_bottom) / 2, abs=1e-3)
    # in the axis' units: a press image of another height keeps the proportions (no pixel gap)
    assert fig.data[0].ygap is None
    # the cells take the whole width: only small side margins, no margin for row names
    assert fig.layout.margin.l == fig.layout.margin.r == heatmap.SIDE_MARGIN
    # units named above the columns, turned on end; the colour bar lies under the plot
    assert fig.layout.xaxis.side == "top" and fig.layout.xaxis.tickangle == -90
    bar = fig.data[0].colorbar
    assert bar.orientation == "h" and bar.y < 0 and bar.yanchor == "top"


def test_framed_chart_leaves_a_phone_cells_for_their_numbers():
    cols = [f"Huyện {chr(65 + i)} dài tên" for i in range(heatmap.CHART_MAX_COLUMNS)]
    m = pd.DataFrame([[80.0 + i for i in range(len(cols))]] * 4, columns=cols,
                     index=[f"Tiêu chí {k}" for k in range(4)])
    fig = figures.frame_figure(heatmap.criteria_heatmap(m, "vi"), "Tiêu chí của dịch vụ “Chứng thực”",
                               "Tỉnh Đồng Tháp · đơn vị cấp huyện · 2024 · n = 1.234 câu trả lời hợp lệ",
                               "Nguồn: SIPAS dashboard", True, "vi")
    cell = (PHONE_CHART_PX - fig.layout.margin.l - fig.layout.margin.r) / heatmap.CHART_MAX_COLUMNS
    assert cell >= 24  # "83,4" at 11 px
    # the frame's title block sits above the unit names, which sit above the plot
    names_px = fig.layout.meta["frame"]["base_t"]
    assert names_px >= heatmap.COLUMN_LABEL_PX_PER_CHAR * len(cols[0])
    assert fig.layout.margin.t >= names_px + 14 + figures.TITLE_LINE_PX + figures.SUBTITLE_LINE_PX
    assert "DỮ LIỆU MINH HỌA" in " ".join(a.text for a in fig.layout.annotations)


def test_text_twin_reads_every_cell_with_its_full_name():
    m, held = _matrix()
    twin = a11y.figure_table(heatmap.criteria_heatmap(m, "vi", withheld=held), "vi")
    assert len(twin) == 9
    rows = {(r[0], r[1]): r[2] for r in twin.itertuples(index=False)}
    assert rows[(LONG, "Huyện C")] == "55,00"
    assert rows[(LONG, "Huyện A")] == "–"
    assert rows[("Phí đúng quy định", HOSTILE)] == "–"


def test_table_form_one_row_per_unit_coloured_as_the_chart():
    m, held = _matrix()
    texts, css = heatmap.heat_table(m, "vi", withheld=held, first="Địa bàn")
    assert list(texts.columns) == ["Địa bàn", *m.index] and list(css.columns) == list(texts.columns)
    assert list(texts["Địa bàn"]) == ["Huyện A", HOSTILE, "Huyện C"]  # the chart's column order
    assert list(texts["Thông tin dễ tìm"]) == ["80,54", "70,00", "99,00"]
    assert list(texts[LONG]) == ["–", "75,26", "55,00"]
    # by hand: 80,54 is 0.886 of the way from #41b6c4 (0.5) to #1d91c0 (0.625), and dark text reads
    # better on it (contrast 6.1 against 3.4 for white); 52,5 is 0.4 of the way from #ffffd9 to #edf8b1
    assert css.loc[0, "Thông tin dễ tìm"] == "background-color: #2195c0; color: #111111"
    assert css.loc[2, "Phí đúng quy định"] == "background-color: #f8fcc9; color: #111111"
    assert css.loc[2, "Thông tin dễ tìm"] == "background-color: #0d2162; color: #ffffff"  # 99: 0.84 from #253494
    assert "italic" in css.loc[0, LONG]   # withheld
    assert css.loc[1, "Phí đúng quy định"] == ""  # missing
    assert set(css["Địa bàn"]) == {""}


def test_table_widths_fit_a_phone_and_wrap_long_names():
    frame = pd.DataFrame({"Dịch vụ": ["Đăng ký khai sinh", "Cấp giấy chứng nhận quyền sử dụng đất"],
                          "Giá trị (%)": ["84,16", "65,26"], "KTC 95%": ["82,0–86,3", "62,3–68,2"],
                          "n (phiếu)": ["129", "109"], "Hạng": ["10/12", "9/12"]})
    headers = {"Giá trị (%)": "%", "n (phiếu)": "n"}
    widths, wrap = tables.table_widths(frame, {c: headers.get(c, c) for c in frame}, "Dịch vụ")
    # by hand: 18 px of padding and 7 px a character (6.5 a header letter), the larger of the two
    assert widths == {"Dịch vụ": 356 - 53 - 81 - 39 - 53, "Giá trị (%)": 53, "KTC 95%": 81, "n (phiếu)": 39,
                      "Hạng": 53}
    assert sum(widths.values()) == tables.PHONE_TABLE_PX
    assert wrap  # 36 letters do not fit in 130 px
    _, wrap = tables.table_widths(frame.assign(**{"Dịch vụ": ["Chứng thực", "Đăng ký kết hôn"]}),
                                   {c: headers.get(c, c) for c in frame}, "Dịch vụ")
    assert not wrap  # 15 letters do
    # a table with too many columns keeps its names readable and scrolls instead
    wide = frame.assign(**{f"c{i}": ["12.345"] * 2 for i in range(6)})
    assert tables.table_widths(wide, {}, "Dịch vụ")[0]["Dịch vụ"] == tables.NAME_MIN_PX


def test_phone_table_arguments():
    frame = pd.DataFrame({"Dịch vụ": ["Cấp giấy chứng nhận quyền sử dụng đất"] * 3, "Giá trị (%)": ["84,16"] * 3,
                          "KTC 95%": ["82,0–86,3"] * 3, "n (phiếu)": ["1.234"] * 3})
    kw = tables.phone_table(frame, {"Giá trị (%)": "%"}, "Dịch vụ")
    cfg = kw["column_config"]
    assert cfg["Giá trị (%)"]["label"] == "%" and cfg["Giá trị (%)"]["help"] == "Giá trị \\(%\\)"
    assert "help" not in cfg["Dịch vụ"]
    assert kw["row_height"] == tables.WRAP_ROW_PX
    assert kw["height"] == tables.TABLE_HEAD_PX + 3 * tables.WRAP_ROW_PX + 2  # no scrolling inside
    long = pd.DataFrame({"Dịch vụ": ["A"] * 40, "Giá trị (%)": ["1"] * 40})
    kw = tables.phone_table(long, {}, "Dịch vụ")
    assert "height" not in kw and "row_height" not in kw


def test_short_keeps_short_text():
    assert heatmap.short("abc", 3) == "abc" and heatmap.short("abcd", 3) == "ab…"


def _criteria(n: int) -> pd.DataFrame:
    rows = [f"Tiêu chí {i}: {LONG[:30]}" for i in range(n)]
    return pd.DataFrame({f"Huyện {c}": [60.0 + i for i in range(n)] for c in "ABCDEFGHIJKL"}, index=rows)


def test_a_press_image_too_short_for_name_lines_names_the_rows_in_a_left_margin():
    """31 criteria in a 1200x675 news image leave about 13 px a row: a name line above each row
    would run over the cells, so the rows are named beside them; a 1080x1080 image keeps the
    phone's name lines."""
    from ui import press
    m = _criteria(31)
    fig = figures.frame_figure(heatmap.criteria_heatmap(m, "vi"), "Tiêu chí", "Tỉnh Đồng Tháp · 2024", "Nguồn",
                               False, "vi")
    news = press.press_figure(fig, 1200, 675)
    assert not [a for a in news.layout.annotations if a.name == "row-label"]
    assert not [s for s in news.layout.shapes if s.name == "name-bands"]
    assert news.layout.yaxis.showticklabels and list(news.layout.yaxis.ticktext) == \
        [heatmap.short(r, heatmap.ROW_LABEL_CHARS) for r in m.index]
    plot_px = 675 - news.layout.margin.t - news.layout.margin.b
    size = news.layout.yaxis.tickfont.size
    assert size < plot_px / 31 and size >= 7      # a name no taller than its row
    assert news.layout.margin.l >= 0.5 * size * max(len(r) for r in news.layout.yaxis.ticktext)
    assert news.data[0].textfont.size == size
    # the screen figure is not changed by it
    assert [a for a in fig.layout.annotations if a.name == "row-label"]
    social = press.press_figure(fig, 1080, 1080)
    assert len([a for a in social.layout.annotations if a.name == "row-label"]) == 31
    assert not social.layout.yaxis.showticklabels
