"""AppTest: every page renders on the demo release, shows the release's numbers, keeps its URL."""
from pathlib import Path

import pytest
from babel.numbers import format_decimal
from streamlit.testing.v1 import AppTest

from apptest import open_page

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ["pages/overview.py", "pages/map.py", "pages/services.py", "pages/compare.py", "pages/locality.py",
         "pages/methodology.py"]


def vi(x, digits=2):
    return format_decimal(float(x), format="#,##0." + "0" * digits, locale="vi_VN")


@pytest.fixture(scope="module")
def release(demo_release_root):
    from sipas_data.release import open_release
    return open_release(root=demo_release_root)


def run(page, **params):
    return open_page(page, **params)


def assert_clean(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def frames(at):
    return [d.value for d in at.dataframe]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("year", ["2024", "2025", "2021"])
def test_every_page_renders_without_errors(demo_env, page, year):
    at = run(page, year=year)
    assert_clean(at)
    assert at.subheader, "the header line is missing"
    assert at.query_params["year"] == year


def test_overview_headline_matches_the_release(demo_env, release):
    at = run("pages/overview.py", year="2024", unit="868")
    assert_clean(at)
    cell = release.read(year=2024, unit="868", level="district").iloc[0]
    prev = release.read(year=2023, unit="868", level="district").iloc[0]
    metrics = {m.label: m for m in at.metric}
    head = metrics["Chỉ số SIPAS"]
    assert head.value == vi(cell["value"]) + "%"
    assert vi(abs(cell["value"] - prev["value"])) in head.delta
    assert metrics["n (phiếu)"].value == format_decimal(int(cell["n"]), format="#,##0", locale="vi_VN")
    nat = release.read(year=2024, level="country", source="official")
    assert metrics["Bình quân toàn quốc (chính thức)"].value == vi(nat["value"].iloc[0]) + "%"
    assert "Thành phố Hồng Ngự" in at.subheader[0].value


def test_map_table_twin_matches_the_release(demo_env, release):
    at = run("pages/map.py", year="2024", unit="87", level="district", service="birth")
    assert_clean(at)
    twin = frames(at)[0]
    cells = release.read(year=2024, level="district", parent="87", service="birth")
    assert len(twin) == len(cells) == 12
    by_code = twin.set_index("Mã")
    for row in cells.itertuples():
        shown = by_code.loc[row.unit_code, "Giá trị (%)"]
        assert shown == ("không công bố" if row.suppressed else vi(row.value))


def test_map_drilldown_state_lists_the_communes(demo_env, release):
    at = run("pages/map.py", year="2024", unit="870")
    assert_clean(at)
    assert at.query_params["level"] == "commune"
    twin = frames(at)[0]
    communes = release.read(year=2024, level="commune", parent="870")
    assert set(twin["Mã"]) == set(communes["unit_code"])
    # breadcrumb back up to the province
    crumb = next(b for b in at.button if b.key == "crumb_87")
    crumb.click().run()
    assert at.query_params["unit"] == "87" and at.query_params["level"] == "district"


def test_locality_profile_matches_the_release(demo_env, release):
    at = run("pages/locality.py", year="2024", unit="868")
    assert_clean(at)
    cell = release.read(year=2024, unit="868", level="district").iloc[0]
    siblings = release.read(year=2024, level="district", parent="87")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Chỉ số SIPAS năm 2024"] == vi(cell["value"]) + "%"
    assert metrics["Hạng"] == f"{int(cell['rank'])}/{int((~siblings['suppressed']).sum())}"
    services = frames(at)[0]
    svc = release.read(year=2024, unit="868", level="district", service=None)
    assert len(services) == (svc["service"] != "all").sum()


def test_locality_search_without_accents_opens_the_place(demo_env):
    at = run("pages/locality.py", year="2024")
    at.text_input(key="loc_q").input("hong ngu").run()
    assert_clean(at)
    assert "Hồng Ngự" in at.subheader[0].value
    assert at.query_params["unit"] in {"868", "870", "29955"} or "Hồng Ngự" in at.subheader[0].value


def test_compare_table_matches_the_release(demo_env, release):
    at = run("pages/compare.py", year="2024", units="868,870,866")
    assert_clean(at)
    table = frames(at)[0].set_index("Mã")
    cells = release.read(year=2024, unit=["868", "870", "866"], level="district")
    for row in cells.itertuples():
        assert table.loc[row.unit_code, "Chỉ số SIPAS"] == vi(row.value)
        assert table.loc[row.unit_code, "Hạng"].startswith(f"{int(row.rank)}/")


def test_services_weakest_criteria_match_the_release(demo_env, release):
    at = run("pages/services.py", year="2024", unit="868", service="land_certificate")
    assert_clean(at)
    weakest = frames(at)[0]
    items = release.read(year=2024, unit="868", level="district", service="land_certificate", indicator=None)
    items = items[items["indicator"].str.startswith("item:") & ~items["suppressed"]].nsmallest(5, "value")
    assert list(weakest["Giá trị (%)"]) == [vi(v) for v in items["value"]]


def test_methodology_page_has_downloads_and_sample_sizes(demo_env, release):
    at = run("pages/methodology.py", year="2024")
    assert_clean(at)
    samples = next(f for f in frames(at) if "n nhỏ nhất" in f.columns)
    n = release.read(level="province", year=2024)["n"].iloc[0]
    row = samples[(samples["Năm"] == "2024") & (samples["Cấp"] == "Tỉnh/thành phố")]
    assert row["Tổng n các ô được công bố"].iloc[0] == format_decimal(int(n), format="#,##0", locale="vi_VN")
    texts = " ".join(str(c.value) for c in at.markdown)
    assert "tuyến tính hóa" in texts  # the engine's interval method, in the page's language


def test_url_round_trip(demo_env):
    params = {"year": "2023", "level": "commune", "unit": "870", "service": "marriage",
              "indicator": "element:access", "lang": "en", "map": "tiles"}
    at = run("pages/map.py", **params)
    assert_clean(at)
    assert {k: at.query_params[k] for k in params} == params
    assert not at.info or all("not" not in i.value for i in at.info)


@pytest.mark.parametrize("page", PAGES)
def test_bad_parameters_fall_back_with_a_notice(demo_env, page):
    at = run(page, year="1900", unit="<script>alert(1)</script>", service="x", indicator="bad", lang="xx",
             map="3d", release="../../etc", units="1,2,3")
    assert_clean(at)
    notices = " ".join(i.value for i in at.info)
    assert "1900" in notices and "không" in notices
    assert at.query_params["year"] == "2025" and at.query_params["lang"] == "vi"


def test_filter_change_updates_the_url_and_the_numbers(demo_env, release):
    at = run("pages/overview.py", year="2024", unit="868")
    at.selectbox(key="w_year").select(2022).run()
    assert_clean(at)
    assert at.query_params["year"] == "2022" and at.query_params["unit"] == "868"
    cell = release.read(year=2022, unit="868", level="district").iloc[0]
    assert {m.label: m.value for m in at.metric}["Chỉ số SIPAS"] == vi(cell["value"]) + "%"
    assert any("2022" in w.value for w in at.warning)  # the method break


def test_english_switch_uses_a_decimal_point(demo_env, release):
    at = run("pages/overview.py", year="2024", unit="868", lang="en")
    assert_clean(at)
    cell = release.read(year=2024, unit="868", level="district").iloc[0]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["SIPAS index"] == format_decimal(cell["value"], format="#,##0.00", locale="en_US") + "%"


# ---------------------------------------------------------------------------------------------
# units across the 2025 reform: (vintage, code), lineage, coverage, what n and ranks count

def captions(at) -> str:
    return " ".join(c.value for c in at.caption).replace("\\", "")


def plain(text: str) -> str:
    return text.replace("\\", "").replace("\u2060", "")


def test_locality_trend_of_a_new_unit_has_only_its_own_and_restated_years(demo_env):
    # the new Phường Hồng Ngự carries old Phường An Thạnh's code: An Thạnh's 2018-2024 are not its
    at = run("pages/locality.py", year="2025", unit="29955")
    assert_clean(at)
    text = captions(at)
    assert "Chỉ số SIPAS của Phường Hồng Ngự qua các năm · Phường Hồng Ngự · 2025 ·" in text
    info = plain(" ".join(i.value for i in at.info))
    assert "Phường Hồng Ngự được hình thành từ 1/7/2025" in info and "Phường An Thạnh" in info
    # each old unit is a link to its own profile and years
    at.button(key="lin_2019_29959").click().run()
    assert_clean(at)
    assert (at.query_params["year"], at.query_params["unit"]) == ("2024", "29959")
    assert "Xã Bình Thạnh" in at.subheader[0].value


def test_locality_of_an_old_unit_ends_in_2024_and_says_where_it_went(demo_env):
    at = run("pages/locality.py", year="2024", unit="29955")
    assert_clean(at)
    assert "Phường An Thạnh · 2018–2024" in captions(at)
    info = plain(" ".join(i.value for i in at.info))
    assert "Từ 1/7/2025, Phường An Thạnh là một phần của Phường Hồng Ngự." in info


def test_locality_year_switch_across_the_reform_keeps_the_place_with_a_notice(demo_env):
    at = run("pages/locality.py", year="2024", unit="30172")   # Xã Mỹ An Hưng A, dissolved
    at.selectbox(key="w_year").select(2025).run()
    assert_clean(at)
    assert at.query_params["unit"] == "30178"
    info = plain(" ".join(i.value for i in at.info))
    assert "Xã Mỹ An Hưng A (năm 2024) từ 1/7/2025 thuộc Xã Mỹ An Hưng" in info
    # said once: the URL kept for a reload or a bookmark is the view, and the next run is quiet
    assert "from" not in at.query_params
    at.run()
    assert_clean(at)
    assert at.query_params["unit"] == "30178"
    assert "thuộc Xã Mỹ An Hưng" not in plain(" ".join(i.value for i in at.info))


def test_a_saved_link_that_carried_a_place_shows_the_view_without_repeating_the_notice(demo_env):
    at = run("pages/locality.py", year="2025", unit="30178", **{"from": "2019:30172"})
    assert_clean(at)   # the link as it was copied before: the notice once, then the plain view's URL
    assert "from" not in at.query_params and at.query_params["unit"] == "30178"


def test_compare_old_units_lines_end_in_2024(demo_env):
    at = run("pages/compare.py", year="2024", units="29955,29959")
    assert_clean(at)
    assert "Phường An Thạnh, Xã Bình Thạnh · TP Hồng Ngự · 2018–2024" in captions(at)


def test_overview_gives_no_change_against_a_restated_year_of_another_area(demo_env, release):
    at = run("pages/overview.py", year="2025", unit="82")
    assert_clean(at)
    head = {m.label: m for m in at.metric}["Chỉ số SIPAS"]
    assert not head.delta
    assert not head.help  # no "So với 2024" tooltip over a change that is not given
    text = captions(at)
    n87 = format_decimal(int(release.read(year=2024, unit="87", level="province")["n"].iloc[0]), format="#,##0",
                         locale="vi_VN")
    assert "So với 2024" not in text
    assert f"Tỉnh Đồng Tháp (trước 1/7/2025) ({n87} phiếu)" in text and "chưa có số liệu của Tỉnh Tiền Giang" in text
    assert "Không so sánh thay đổi" in text


def test_locality_restated_trend_states_its_coverage(demo_env, release):
    at = run("pages/locality.py", year="2025", unit="82")
    assert_clean(at)
    n87 = format_decimal(int(release.read(year=2024, unit="87", level="province")["n"].iloc[0]), format="#,##0",
                         locale="vi_VN")
    assert (f"Số liệu tính lại 2018–2024 gồm: Tỉnh Đồng Tháp (trước 1/7/2025) ({n87} phiếu); "
            "chưa có số liệu của Tỉnh Tiền Giang.") in plain(captions(at))


def test_compare_restated_lines_state_their_coverage(demo_env, release):
    at = run("pages/compare.py", year="2025", units="30001,82")
    assert_clean(at)
    text = plain(captions(at))
    olds = release.read(year=2024, unit=["30001", "30007"], level="commune").set_index("unit_code")["n"]
    assert (f"Xã Tràm Chim: Số liệu tính lại 2018–2024 gồm: Thị trấn Tràm Chim ({int(olds['30001'])} phiếu); "
            f"Xã Tân Công Sính ({int(olds['30007'])} phiếu).") in text
    assert "Tỉnh Đồng Tháp: Số liệu tính lại 2018–2024 gồm: Tỉnh Đồng Tháp (trước 1/7/2025)" in text


def test_n_lines_say_what_they_count(demo_env, release):
    at = run("pages/overview.py", year="2024", unit="87", level="commune")
    assert_clean(at)
    text = captions(at)
    n = format_decimal(int(release.read(year=2024, unit="87", level="province")["n"].iloc[0]), format="#,##0",
                       locale="vi_VN")
    assert f"n = {n} phiếu (mọi dịch vụ, mọi cấp giải quyết trên địa bàn)" in text
    communes = release.read(year=2024, level="commune", parent=None)
    communes = communes[communes["parent_code"].isin(release.read(year=2024, level="district")["unit_code"])]
    total = format_decimal(int(communes["n"].sum()), format="#,##0", locale="vi_VN")
    assert f"n = {total} phiếu về dịch vụ do xã/phường/thị trấn giải quyết" in text


def test_ranks_say_among_what(demo_env, release):
    at = run("pages/compare.py", year="2024", units="29955,29959")
    assert_clean(at)
    table = frames(at)[0].set_index("Mã")
    cell = release.read(year=2024, unit="29955", level="commune").iloc[0]
    n = int((~release.read(year=2024, level="commune", parent="868")["suppressed"]).sum())
    assert table.loc["29955", "Hạng"] == f"{int(cell['rank'])}/{n} xã/phường/thị trấn của Thành phố Hồng Ngự"
    at = run("pages/locality.py", year="2025", unit="82")   # the only province of the release
    assert_clean(at)
    assert {m.label: m.value for m in at.metric}["Hạng"] == "–"
    assert "Không xếp hạng" in plain(" ".join(m.value for m in at.markdown))


def test_criteria_pulling_down_are_below_the_named_parent(demo_env):
    at = run("pages/compare.py", year="2025", units="28249,28261,28270")
    assert_clean(at)
    heads = [plain(m.value) for m in at.markdown if "thấp hơn" in m.value]
    assert len(heads) == 3 and all("thấp hơn Tỉnh Đồng Tháp" in h for h in heads)
    gaps = [f for f in frames(at) if "Chênh lệch (điểm %)" in f.columns]
    assert gaps and all(v.startswith("−") for f in gaps for v in f["Chênh lệch (điểm %)"])


def test_fresh_clone_builds_the_demo(tmp_path, monkeypatch):
    monkeypatch.setenv("SIPAS_RELEASES", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert_clean(at)
    assert (tmp_path / "demo-dong-thap" / "manifest.json").is_file()
    assert at.metric


# ---------------------------------------------------------------------------------------------
# Services: the criteria matrix, a chart while a phone's cells hold their numbers, else a table

def _heat(at):
    import json
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if spec["data"] and spec["data"][0]["type"] == "heatmap":
            return spec
    return None


def _items(release, year, **where):
    cells = release.read(year=year, service="all", indicator=None, **where)
    return cells[cells["indicator"].str.startswith("item:")]


def test_services_criteria_chart_for_twelve_districts_with_the_release_values(demo_env, release):
    at = run("pages/services.py", year="2024", unit="87")
    assert_clean(at)
    assert at.segmented_control(key="sv_heat_form").value == "chart"
    spec = _heat(at)
    assert spec is not None
    tr = spec["data"][0]
    items = _items(release, 2024, level="district", parent="87")
    scheme = release.scheme(items["scheme"].iloc[0])
    names = {r.unit_code: r for r in release.read(year=2024, level="district", parent="87").itertuples()}
    assert len(tr["x"]) == len(names) == 12
    # a row's name is the criterion's own Vietnamese label (no English id), on its line above the row
    labels = [a["text"] for a in spec["layout"]["annotations"] if a.get("name") == "row-label"]
    assert labels[0] == scheme.label_of("item:accountability_1", "vi")
    # every published cell shows its value to one decimal, every withheld one "–"
    seen = 0
    for row in items.itertuples():
        i = next(k for k, y in enumerate(tr["y"]) if y == scheme.label_of(row.indicator, "vi"))
        name = next(x for x in tr["x"] if x.endswith(_district(row.unit_code)))
        j = tr["x"].index(name)
        assert tr["text"][i][j] == ("–" if row.suppressed else vi(row.value, 1)), (row.indicator, name)
        seen += 1
    assert seen == len(tr["x"]) * len(tr["y"])
    # the columns go weakest first (the mean of the criteria shown)
    means = items[~items["suppressed"]].groupby("unit_code")["value"].mean().sort_values()
    assert tr["x"][0].endswith(_district(means.index[0]))


def _district(code: str) -> str:
    import geo
    return geo.unit(code, "2019")["name"]


def test_services_criteria_table_on_request_and_for_many_communes(demo_env, release):
    at = run("pages/services.py", year="2024", unit="87")
    at.segmented_control(key="sv_heat_form").set_value("table").run()
    assert_clean(at)
    assert _heat(at) is None
    table = next(f for f in frames(at) if len(f) == 12 and "Địa bàn" in f.columns)
    items = _items(release, 2024, level="district", parent="87")
    scheme = release.scheme(items["scheme"].iloc[0])
    cell = items[~items["suppressed"]].iloc[0]
    row = table[table["Địa bàn"].str.endswith(_district(cell["unit_code"]))].iloc[0]
    assert row[scheme.label_of(cell["indicator"], "vi")] == vi(cell["value"])
    # 2025: the province's 102 communes would leave a phone 3 px a cell: the table comes first
    at = run("pages/services.py", year="2025")
    assert_clean(at)
    assert at.segmented_control(key="sv_heat_form").value == "table"
    assert _heat(at) is None
    communes = release.read(year=2025, level="commune", service="all")
    assert any(len(f) == communes["unit_code"].nunique() and "Địa bàn" in f.columns for f in frames(at))
    assert "thang cố định 50–100%" in plain(captions(at))


def test_locality_services_table_fits_a_phone_with_the_release_numbers(demo_env, release):
    import json
    at = run("pages/locality.py", year="2024", unit="868")
    assert_clean(at)
    table = frames(at)[0].set_index("Dịch vụ")
    cells = release.read(year=2024, unit="868", level="district", service=None)
    cells = cells[cells["service"] != "all"]
    sib = release.read(year=2024, level="district", parent="87", service=None)
    scheme = release.scheme(cells["scheme"].iloc[0])
    for row in cells.itertuples():
        shown = table.loc[scheme.service(row.service).label["vi"]]
        assert shown["Giá trị (%)"] == vi(row.value)
        assert shown["KTC 95%"] == f"{vi(row.ci_low)}–{vi(row.ci_high)}"   # two decimals, decimal comma
        total = int((~sib[sib["service"] == row.service]["suppressed"]).sum())
        assert shown["Hạng"] == f"{int(row.rank)}/{total}"
    config = json.loads(at.dataframe[0].proto.columns)
    shown = {k: v for k, v in config.items() if k != "_index"}
    assert [v["label"] for v in shown.values()] == ["Dịch vụ", "%", "KTC 95%", "n", "Hạng"]
    assert sum(v["width"] for v in shown.values()) <= 356   # a 390 px phone's table
    # the short headings are explained under the table, rank among what included
    assert "n: số phiếu · Hạng: trong các đơn vị cấp huyện của Tỉnh Đồng Tháp (1 = cao nhất)" in plain(captions(at))
