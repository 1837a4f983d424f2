"""Place search that forgives typing mistakes (geo.search with ``fuzzy``): misspelt names are
suggested with their parents, over both vintages, after every name found as typed."""
import importlib

import pytest

units = importlib.import_module("geo.registry")  # the package re-exports a function named units


def rows(query, vintage, **kw):
    return units.search(query, vintage, limit=10, fuzzy=True, **kw)


@pytest.mark.parametrize(("vintage", "label"), [
    ("2025", "Xã Tràm Chim, Tỉnh Đồng Tháp"),
    ("2019", "Thị trấn Tràm Chim, Huyện Tam Nông, Tỉnh Đồng Tháp"),
])
def test_a_misspelt_name_is_suggested_with_its_parents(vintage, label):
    assert units.search("tram chym", vintage).empty  # as typed, it matches nothing
    got = rows("tram chym", vintage)
    assert got.iloc[0]["label"] == label
    assert bool(got.iloc[0]["fuzzy"])
    # "tramchym" against "tramchim": one letter changed in 8, Indel similarity 1 - 2/16 = 87.5,
    # scaled by 0.35 under every name found as typed
    assert got.iloc[0]["score"] == pytest.approx(87.5 * 0.35)


def test_a_doubled_letter_and_a_missing_space():
    near = rows("hong nguu", "2019")
    top = set(near[near["fuzzy"]]["label"].head(2))
    assert top == {"Thành phố Hồng Ngự, Tỉnh Đồng Tháp", "Huyện Hồng Ngự, Tỉnh Đồng Tháp"}
    # "hongngu" is the name typed without its space: found as typed, not a suggestion
    exact = rows("hongngu", "2019")
    assert set(exact[~exact["fuzzy"]]["label"]) == top
    assert set(exact[~exact["fuzzy"]]["score"]) == {100.0}


def test_names_found_as_typed_come_before_every_suggestion():
    got = rows("hong ngu", "2019")
    flags = list(got["fuzzy"])
    assert flags[0] is False or not flags[0]
    strong = got[got["score"] >= 60]  # exact, prefix and word-start hits
    assert not strong["fuzzy"].any()
    first_fuzzy = flags.index(True) if True in flags else len(flags)
    assert len(strong) <= first_fuzzy
    # a unit found by name is never repeated as a suggestion of itself
    assert got["code"].is_unique


def test_suggestions_keep_the_parent_and_level_rules():
    assert list(rows("tram chym, tam nong", "2019")["label"]) == [
        "Thị trấn Tràm Chim, Huyện Tam Nông, Tỉnh Đồng Tháp"]
    assert rows("tram chym, ha noi", "2019").empty
    assert rows("hong nguu", "2019", levels=("commune",)).query("label.str.contains('Hồng Ngự,')",
                                                                  engine="python").empty


def test_nothing_close_and_too_short_give_nothing():
    assert rows("zzzz qqq", "2025").empty
    assert rows("hx", "2025").empty  # two letters would be close to hundreds of names
    assert list(rows("", "2025").columns) == ["code", "level", "name", "label", "score", "fuzzy"]


def test_without_fuzzy_the_results_are_unchanged():
    plain = units.search("hong ngu", "2019", limit=10)
    assert not plain["fuzzy"].any()
    assert list(plain["code"]) == list(rows("hong ngu", "2019").query("~fuzzy")["code"])
