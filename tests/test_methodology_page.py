"""The methodology page states only what the engine applies, every word in the page's language.

A scheme definition can set only the rules sipas_data/engine.py computes (anything else is refused
with the file, the key and the values accepted), and the page words each of them through
ui/strings.py: no engine docstring, raw method id or Vietnamese-only text in English, and no English
paragraph in Vietnamese. Level names follow the year's vintage."""
import copy
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from apptest import errors, open_page
from browser import NEEDS_CHROMIUM, app_server, chromium

from sipas_data.scheme import SCHEME_DIR, SchemeError, builtin_schemes, parse_scheme
from sipas_data.release import open_release
from ui.strings import level_label

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
RAW_IDS = ("wilson", "linearised_respondent_scores", "services_aspect", "mean_of_aspects", "mean_of_elements",
           "high_levels_share", "ticked_share", "sipas_data", "The composite interval")


def _scheme(name: str) -> dict:
    return json.loads((SCHEME_DIR / f"{name}.json").read_text(encoding="utf-8"))


def _with_rule(name: str, key: str, value) -> dict:
    d = copy.deepcopy(_scheme(name))
    d["rules"][key] = value
    return d


@pytest.mark.parametrize("scheme,key,value,says", [
    ("sipas-2022", "national", "mean_of_units", ["rules.national", "'mean_of_units'", "only 'pooled'"]),
    ("sipas-2022", "sipas_without_policy", "suppress", ["rules.sipas_without_policy", "only 'services_aspect'"]),
    ("sipas-2022", "expectation", "ticked_share", ["rules.expectation", "'rated'", "'high_levels_share' only"]),
    ("sipas-2017", "expectation", "high_levels_share", ["rules.expectation", "'multi_select'", "'ticked_share'"]),
    ("sipas-2022", "interval", {"item": "wilson", "composite": "linearised_respondent_scores", "level": 0.9},
     ["rules.interval.level", "0.9", "only 0.95"]),
    ("sipas-2022", "interval", {"item": "clopper_pearson"}, ["rules.interval.item", "only 'wilson'"]),
    ("sipas-2022", "interval", {"composite": "bootstrap"},
     ["rules.interval.composite", "only 'linearised_respondent_scores'"]),
    ("sipas-2022", "interval", {"method": "x"}, ["rules.interval.method", "item, composite, level"]),
    ("sipas-2022", "interval", "wilson", ["rules.interval should be an object"]),
    ("sipas-2022", "weighting", "raking", ["rules.weighting", "element, aspect, sipas"]),
    ("sipas-2017", "sipas_without_policy", "services_aspect", ["rules.sipas_without_policy", "mean_of_aspects"]),
])
def test_a_rule_the_engine_does_not_apply_is_refused(scheme, key, value, says):
    with pytest.raises(SchemeError) as err:
        parse_scheme(_with_rule(scheme, key, value), f"{scheme}.json")
    msg = str(err.value)
    assert msg.startswith(f"{scheme}.json: ")
    for s in says:
        assert s in msg, (s, msg)


def test_the_shipped_schemes_set_only_applied_rules():
    ms = builtin_schemes()
    assert ms["sipas-2022"].rules["sipas_without_policy"] == "services_aspect"
    assert ms["sipas-2022"].rules["interval"]["level"] == 0.95
    assert ms["sipas-2017"].rules["expectation"] == "ticked_share"
    # the rule the engine honours stays accepted, and its absence too
    parse_scheme(_with_rule("sipas-2022", "national", "pooled"), "x.json")
    d = _scheme("sipas-2022")
    del d["rules"]["interval"], d["rules"]["expectation"]
    parse_scheme(d, "x.json")


def test_legal_basis_in_both_languages_or_one_text():
    m = builtin_schemes()["sipas-2022"]
    assert "phương pháp" in m.legal_basis["vi"] and "phương pháp" not in m.legal_basis["en"]
    d = _scheme("sipas-2017")
    d["legal_basis"] = "QĐ 2640/QĐ-BNV"
    assert parse_scheme(d, "x.json").legal_basis == {"vi": "QĐ 2640/QĐ-BNV", "en": "QĐ 2640/QĐ-BNV"}
    d["legal_basis"] = {"vi": "QĐ 2640"}
    with pytest.raises(SchemeError, match="x.json: 'legal_basis'"):
        parse_scheme(d, "x.json")


def test_level_names_fit_the_vintage():
    assert level_label("commune", "vi") == "Xã/phường/thị trấn"  # without a year: as before
    assert level_label("commune", "vi", plural=True) == "xã/phường"
    assert level_label("commune", "vi", year=2024) == "Xã/phường/thị trấn"
    assert level_label("commune", "vi", plural=True, year=2024) == "xã/phường/thị trấn"
    assert level_label("commune", "vi", year=2025) == "Xã/phường/đặc khu"
    assert level_label("commune", "vi", plural=True, year=2025) == "xã/phường/đặc khu"
    assert level_label("commune", "en", year=2025) == "Commune/ward/special zone"
    assert level_label("province", "vi", year=2025) == level_label("province", "vi")
    assert level_label("country", "en", plural=True, year=2025) == "Country"
    assert level_label("commune", "vi", year=1800) == "Xã/phường/thị trấn"  # before any vintage: the default


# ---------------------------------------------------------------------------------------------
# the page

@pytest.fixture(scope="module")
def pages(demo_release_root):
    """The page in both languages, on 2025's communes (the new vintage) and on 2024."""
    import os
    old = os.environ.get("SIPAS_RELEASES")
    os.environ["SIPAS_RELEASES"] = str(demo_release_root)
    try:
        out = {lang: open_page("pages/methodology.py", year="2025", level="commune", unit="87", lang=lang)
               for lang in ("vi", "en")}
    finally:
        if old is None:
            os.environ.pop("SIPAS_RELEASES")
        else:
            os.environ["SIPAS_RELEASES"] = old
    return out


def _texts(at) -> list[str]:
    """What the page writes: Markdown, captions, expander labels and table headers. (Its code
    blocks are the share box's: a link, an embed code and the key numbers, which are Vietnamese
    on purpose, for the press.)"""
    out = [m.value for m in at.markdown] + [c.value for c in at.caption]
    out += [e.label for e in at.expander]
    out += [str(c) for d in at.dataframe for c in d.value.columns]
    return [x.replace("\\", "").replace("\u2060", "") for x in out]


def _data_strings(root) -> list[str]:
    """Text that comes from the data as it is (the release's own title and publisher, official
    sources' citations, unit names): shown verbatim in every language."""
    rel = open_release("demo-dong-thap", root)
    off = rel.read(source="official")
    return sorted({rel.title, rel.publisher, *off["note"].dropna(), "Tỉnh Đồng Tháp", "Đồng Tháp"},
                  key=len, reverse=True)


#: Vietnamese letters (with their tone marks) that no English word has
VI_LETTERS = re.compile(r"[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.I)
#: English words that no Vietnamese sentence of the page has
EN_WORDS = re.compile(r"\b(the|of|and|is|are|by|with|from|their|mean|respondents?|interval|rows|forms)\b", re.I)


def test_no_english_paragraph_in_vietnamese(pages, demo_release_root):
    at = pages["vi"]
    assert not errors(at), errors(at)
    data = _data_strings(demo_release_root)
    texts = _texts(at)
    joined = "\n".join(texts)
    for raw in RAW_IDS:
        assert raw not in joined, raw
    for text in texts:
        for d in data:
            text = text.replace(d, "")
        assert not EN_WORDS.search(text), (EN_WORDS.search(text).group(0), text[:300])
    assert "phương pháp Wilson" in joined and "tuyến tính hóa" in joined
    assert "Phiếu minh họa do chương trình tạo ra" in joined
    assert "từ 2022" in joined and "Quyết định 979/QĐ-BNV" in joined


def test_no_vietnamese_only_words_in_english(pages, demo_release_root):
    at = pages["en"]
    assert not errors(at), errors(at)
    data = _data_strings(demo_release_root)
    texts = _texts(at)
    joined = "\n".join(texts)
    for raw in RAW_IDS:
        assert raw not in joined, raw
    for text in texts:
        for d in [*data, "QĐ"]:  # QĐ is part of a decision's official number (979/QĐ-BNV)
            text = text.replace(d, "")
        assert not VI_LETTERS.search(text), (VI_LETTERS.search(text).group(0), text[:300])
    assert "phương pháp" not in joined
    assert "Wilson score method" in joined and "linearisation over each respondent's scores" in joined
    assert "Decision 1001/QĐ-BNV" in joined and "from 2022" in joined


def test_samples_table_says_what_it_counts_and_level_names_fit_the_vintage(pages, demo_release_root):
    at = pages["vi"]
    samples = next(d.value for d in at.dataframe if "Số ô không công bố" in d.value.columns)
    rel = open_release("demo-dong-thap", demo_release_root)
    cells = rel.read(service="all", indicator="sipas", source="computed")
    cells = cells[cells["basis"] == "pooled"]
    for (year, level), g in cells.groupby(["year", "level"]):
        row = samples[(samples["Năm"] == str(year)) & (samples["Cấp"] == level_label(level, "vi", year=year))]
        assert len(row) == 1, (year, level)
        # the total adds up the published cells' n; the withheld cells are counted beside it
        published = g.loc[~g["suppressed"], "n"].sum()
        assert row["Tổng n các ô được công bố"].iloc[0] == f"{int(published):,}".replace(",", ".")
        assert row["Số ô không công bố"].iloc[0] == str(int(g["suppressed"].sum()))
    assert set(samples.loc[samples["Năm"] == "2025", "Cấp"]) >= {"Xã/phường/đặc khu"}
    assert set(samples.loc[samples["Năm"] == "2024", "Cấp"]) >= {"Xã/phường/thị trấn"}
    assert "Xã/phường/đặc khu" not in set(samples.loc[samples["Năm"] == "2024", "Cấp"])
    assert any("ô không công bố không có n" in c.value for c in at.caption)
    # the current view is named with the 2025 vintage's communes
    assert any("xã/phường/đặc khu" in c.value for c in at.caption)
    en = next(d.value for d in pages["en"].dataframe if "Withheld cells" in d.value.columns)
    assert isinstance(en, pd.DataFrame) and "Commune/ward/special zone" in set(en["Level"])


def test_release_facts_are_lines_that_wrap_not_a_table(pages, demo_release_root):
    """The release's title, publisher, date and id are label: value lines (a long title wraps on a
    phone; a two-column table scrolled sideways there), in the page's language."""
    rel = open_release("demo-dong-thap", demo_release_root)
    for lang, labels in {"vi": ("Bản phát hành", "Mã bản phát hành"), "en": ("Release", "Release id")}.items():
        facts = next(m.value for m in pages[lang].markdown if m.value.startswith("- **"))
        lines = facts.replace("\\", "").replace("\u2060", "").split("\n")
        assert lines[0] == f"- **{labels[0]}:** {rel.title}"
        assert lines[-1] == f"- **{labels[1]}:** {rel.id}"
        assert any(rel.publisher in line for line in lines)
        assert not any(labels[0] in map(str, d.value.columns) or rel.title in d.value.to_string()
                       for d in pages[lang].dataframe)


@NEEDS_CHROMIUM
def test_methodology_page_on_a_phone_in_both_languages(demo_release_root, tmp_path_factory):
    """390x844: the page reads in its language and nothing but the tables' own scroll is wider
    than the screen. Screenshots in test-artifacts/."""
    pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    geo = tmp_path_factory.mktemp("geo_empty")
    heads = {"vi": ("Công thức áp dụng", "Khoảng tin cậy", "Cỡ mẫu"),
             "en": ("Formulas used", "Intervals", "Sample sizes")}
    with app_server(demo_release_root, geo) as url, chromium() as b:
        for lang, words in heads.items():
            pg = b.new_page(viewport={"width": 390, "height": 844})
            pg.goto(f"{url}/methodology?year=2025&level=commune&lang={lang}")
            pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning'] h3", timeout=90_000)
            text = pg.locator("[data-testid='stMain']").inner_text()
            for w in words:
                assert w in text, (lang, w)
            assert ("linearised" in text) == (lang == "en") and ("tuyến tính hóa" in text) == (lang == "vi")
            width = pg.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollWidth")
            assert width <= 390, width
            pg.screenshot(path=str(ARTIFACTS / f"methodology_phone_{lang}.png"))
            pg.close()
