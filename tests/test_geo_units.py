"""Registry, crosswalk and search (geo.registry)."""


import pandas as pd
import pytest

import geo
from geo import (
    VINTAGES, children, crosswalk, levels_for_year, normalise_name, search, unit, units,
    vintage_for_year,
)

UNIT_COLUMNS = ["code", "level", "type", "name", "short_name", "search_key", "parent_code",
                "province_code", "district_code", "lat", "lon", "area_km2"]
CODE_LEN = {"province": 2, "district": 3, "commune": 5}


def test_vintage_and_levels_for_year():
    assert VINTAGES == ("2019", "2025")
    assert vintage_for_year(2017) == "2019"
    assert vintage_for_year(2024) == "2019"
    assert vintage_for_year(2025) == "2025"
    assert vintage_for_year(2031) == "2025"
    assert levels_for_year(2024) == ("province", "district", "commune")
    assert levels_for_year(2025) == ("province", "commune")


@pytest.mark.parametrize("vintage,expected", [
    ("2019", {"province": 63, "district": 696, "commune": 10035}),
    ("2025", {"province": 34, "commune": 3321}),
])
def test_counts_match_official_totals(vintage, expected):
    df = units(vintage)
    assert list(df.columns) == UNIT_COLUMNS
    assert df["level"].value_counts().to_dict() == expected


@pytest.mark.parametrize("vintage", VINTAGES)
def test_codes_unique_zero_padded_strings(vintage):
    df = units(vintage)
    assert df["code"].is_unique
    assert all(isinstance(c, str) for c in df["code"])
    assert (df["code"].str.len() == df["level"].map(CODE_LEN)).all()
    assert df["code"].str.fullmatch(r"\d+").all()


@pytest.mark.parametrize("vintage", VINTAGES)
def test_parents_exist_and_levels_nest(vintage):
    df = units(vintage)
    by_code = df.set_index("code")
    prov = df[df.level == "province"]
    assert (prov.parent_code == "VN").all()
    assert prov.district_code.isna().all()
    rest = df[df.level != "province"]
    assert rest.parent_code.isin(by_code.index).all()
    parent_level = by_code.loc[rest.parent_code, "level"].to_numpy()
    if vintage == "2019":
        want = rest.level.map({"district": "province", "commune": "district"}).to_numpy()
        dist = df[df.level == "district"]
        assert (dist.district_code == dist.code).all()
        comm = df[df.level == "commune"]
        assert (comm.district_code == comm.parent_code).all()
    else:
        want = ["province"] * len(rest)
        assert df.district_code.isna().all()
        assert "district" not in set(df.level)
    assert list(parent_level) == list(want)
    assert rest.province_code.isin(prov.code).all()


@pytest.mark.parametrize("vintage", VINTAGES)
def test_types_names_keys(vintage):
    df = units(vintage)
    allowed = {"province": {"Tỉnh", "Thành phố"},
               "district": {"Quận", "Huyện", "Thị xã", "Thành phố"},
               "commune": {"Xã", "Phường", "Thị trấn", "Đặc khu"}}
    for level, types in allowed.items():
        sub = df[df.level == level]
        assert set(sub.type) <= types
    assert (df.name == df.type + " " + df.short_name).all()
    assert (df.search_key == df.name.map(normalise_name)).all()
    assert df.lat.between(7, 24).all() and df.lon.between(102, 118).all()


def test_area_only_where_the_package_has_it():
    assert units("2019").area_km2.isna().all()
    comm = units("2025")[lambda d: d.level == "commune"]
    assert comm.area_km2.notna().sum() >= 3315
    assert (comm.area_km2.dropna() > 0).all()


def test_dong_thap_pre_reform():
    d = children("87", "2019")
    assert len(d) == 12 and (d.level == "district").all()
    assert list(d.code) == sorted(d.code)
    comm = units("2019").query("province_code == '87' and level == 'commune'")
    assert len(comm) == 141
    assert unit("868", "2019")["name"] == "Thành phố Hồng Ngự"
    assert unit("868", "2019")["short_name"] == "Hồng Ngự"
    assert unit("868", "2019")["search_key"] == "thanh pho hong ngu"
    assert unit("99999", "2019") is None
    assert children("nope", "2019").empty


def test_island_districts_without_communes():
    for code in ("318", "471", "498", "536", "755"):
        assert unit(code, "2019")["level"] == "district"
        assert children(code, "2019").empty


def test_post_reform_communes_hang_off_provinces():
    c = children("82", "2025")
    assert len(c) == 102 and (c.level == "commune").all()
    assert len(children("VN", "2025")) == 34
    assert len(children("VN", "2019")) == 63


def test_registry_is_built_once_per_vintage(monkeypatch):
    # how fast a cached call is, is bench/bench_app.py --search's to say, not a test's
    units("2019"), units("2025")
    from geo import registry
    monkeypatch.setattr(registry, "_PACKAGE_TABLES", {})  # a rebuild would now raise KeyError
    assert units("2019") is units("2019")
    assert units("2025") is units("2025")


def test_normalise_name():
    assert normalise_name("Thành phố  Hồng Ngự") == "thanh pho hong ngu"
    assert normalise_name("ĐẮK LẮK") == "dak lak"
    assert normalise_name("Thanh Hoá") == normalise_name("Thanh Hóa")
    assert normalise_name(None) == ""


def test_normalise_name_drops_every_combining_mark_and_keeps_other_characters():
    decomposed = "Xa\u0303 Ta\u0302n Ho\u0323\u0302i"  # "Xã Tân Hội" typed with separate marks
    assert normalise_name(decomposed) == normalise_name("Xã Tân Hội") == "xa tan hoi"
    assert normalise_name("Cafe\u0301 \u0110\u1ea3o\tN\u0327") == "cafe dao n"  # acute, Đ, cedilla
    assert normalise_name("Quận 1, (cũ)") == "quan 1, (cu)"
    assert normalise_name(12) == "12"
    assert [normalise_name("Đồng  Tháp") for _ in range(2)] == ["dong thap"] * 2  # met again: the same key


# -- crosswalk ---------------------------------------------------------------

def test_crosswalk_covers_every_pre_reform_commune():
    cw = crosswalk()
    assert list(cw.columns) == ["old_commune_code", "old_district_code", "old_province_code",
                                "new_commune_code", "new_province_code", "divided"]
    old = units("2019").query("level == 'commune'")
    assert cw.old_commune_code.is_unique
    assert set(cw.old_commune_code) == set(old.code)
    assert cw.new_commune_code.notna().all()
    new = units("2025").set_index("code")
    assert cw.new_commune_code.isin(new.index).all()
    assert (new.loc[cw.new_commune_code, "province_code"].to_numpy() == cw.new_province_code).all()
    assert cw.divided.dtype == bool and 0 < cw.divided.sum() < len(cw)
    # old district/province consistent with the registry
    o = units("2019").set_index("code")
    assert (o.loc[cw.old_commune_code, "district_code"].to_numpy() == cw.old_district_code).all()
    assert (o.loc[cw.old_commune_code, "province_code"].to_numpy() == cw.old_province_code).all()


def test_crosswalk_known_cases():
    cw = crosswalk().set_index("old_commune_code")
    # Đồng Tháp (87) and Tiền Giang (82) form the new Đồng Tháp (82).
    assert set(cw.loc[cw.old_province_code == "87", "new_province_code"]) == {"82"}
    assert set(cw.loc[cw.old_province_code == "82", "new_province_code"]) == {"82"}
    # Hà Nội stays 01.
    assert set(cw.loc[cw.old_province_code == "01", "new_province_code"]) == {"01"}
    # every new commune receives at least one old commune
    assert set(crosswalk().new_commune_code) <= set(units("2025").code)
    assert crosswalk().new_commune_code.nunique() > 3200


# -- search ------------------------------------------------------------------

@pytest.mark.parametrize("q", ["hong ngu", "Hồng Ngự", "HỒNG NGỰ", "TP Hồng Ngự", "tp. hong ngu",
                               "Thành phố Hồng Ngự"])
def test_search_finds_thanh_pho_hong_ngu(q):
    r = search(q, "2019")
    assert "868" in list(r.code)
    assert r.iloc[0].score >= r.score.max()  # sorted
    assert list(r.columns) == ["code", "level", "name", "label", "score", "fuzzy"]


def test_search_ambiguous_lists_parents():
    r = search("hong ngu", "2019")
    top = r[r.score == r.score.max()]
    assert {"868", "870"} <= set(top.code)
    assert r.iloc[0].code == "868" or r.set_index("code").score["868"] == r.score.max()
    assert "Thành phố Hồng Ngự, Tỉnh Đồng Tháp" in set(r.label)
    assert "Huyện Hồng Ngự, Tỉnh Đồng Tháp" in set(r.label)


@pytest.mark.parametrize("q,first", [("TP Hồng Ngự", "868"), ("TP. Hồng Ngự", "868"),
                                     ("Tp hong ngu", "868"), ("H. Hồng Ngự", "870"),
                                     ("huyện hồng ngự", "870")])
def test_search_type_in_query_ranks_that_type_first(q, first):
    r = search(q, "2019")
    assert r.iloc[0].code == first
    assert r.iloc[0].score > r.iloc[1].score


def test_search_commune_labels_and_parent_context():
    r = search("Tân Hội", "2019", limit=50)
    assert len(r) > 5  # a common name: many parents listed
    assert "Xã Tân Hội, Thành phố Hồng Ngự, Tỉnh Đồng Tháp" in set(r.label)
    r2 = search("Tân Hội, Hồng Ngự", "2019")
    assert list(r2.code) == ["29965"]


def test_search_exact_above_prefix_above_substring():
    r = search("long an", "2019", limit=2000)
    short = r.code.map(lambda c: normalise_name(unit(c, "2019")["short_name"]))
    assert (r.score[short == "long an"] == 100).all() and (short == "long an").any()
    prefix = short.str.startswith("long an") & (short != "long an")
    assert prefix.any() and (r.score[prefix] == 80).all()
    other = ~short.str.startswith("long an")
    assert (r.score[other] <= 60).all()
    r = search("hong", "2019", limit=2000)
    assert set(r.score) == {80, 60, 40}  # no unit is called just "Hồng"
    assert r.score.is_monotonic_decreasing
    r = search("dong thap", "2019", limit=50)
    assert r.iloc[0].code == "87"
    # Xã Đồng Tháp (Hà Nội) ties on score; the province comes first by level.
    assert r.iloc[0].score == 100 and "Xã Đồng Tháp" in set(r.name)


def test_search_levels_limit_and_abbreviations():
    r = search("hong ngu", "2019", levels=("commune",))
    assert set(r.level) <= {"commune"}
    assert len(search("an", "2019", limit=3)) == 3
    assert search("Q. 1", "2019").iloc[0]["name"] == "Quận 1"
    assert search("P. 1", "2019").iloc[0]["name"] == "Phường 1"
    assert search("TT Óc Eo", "2019").iloc[0]["name"] == "Thị trấn Óc Eo"
    assert search("TX Buôn Hồ", "2019").iloc[0]["name"] == "Thị xã Buôn Hồ"
    assert search("", "2019").empty
    assert search("zzzzqqq", "2019").empty


def test_search_post_reform():
    r = search("đồng tháp", "2025")
    assert r.iloc[0].code == "82"
    assert "district" not in set(search("hong ngu", "2025").level)


def test_search_index_is_built_once_per_vintage():
    # search speed is measured by bench/bench_app.py --search, not asserted here
    from geo import registry
    search("warm", "2019")
    index = registry._search_index(registry._source("2019"))
    first = [search(q, "2019") for q in ("hong ngu", "TP Hồng Ngự", "tan hoi", "an", "Phường 1")]
    assert registry._search_index(registry._source("2019")) is index
    again = [search(q, "2019") for q in ("hong ngu", "TP Hồng Ngự", "tan hoi", "an", "Phường 1")]
    for a, b in zip(first, again):
        pd.testing.assert_frame_equal(a, b)


def test_unknown_vintage_rejected():
    with pytest.raises(ValueError):
        units("2020")


def test_reexports():
    for name in ("VINTAGES", "vintage_for_year", "levels_for_year", "units", "unit", "children",
                 "crosswalk", "search", "normalise_name"):
        assert hasattr(geo, name)
    assert isinstance(units("2019"), pd.DataFrame)
