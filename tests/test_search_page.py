"""The Locality page's search forgives typing mistakes: a misspelt name offers the close names (with
their parents) as suggestions, never opens one unasked, and a miss does not leave the previous
place on screen as if it were the answer."""
from apptest import errors, open_page


def shown(md: str) -> str:
    """Markdown as the viewer reads it (ui.fmt.md escapes punctuation and breaks autolinks)."""
    return md.replace("\\", "").replace("\u2060", "")


def test_a_misspelt_name_is_suggested_and_opens_when_taken(demo_env):
    at = open_page("pages/locality.py", year="2024", unit="868")
    assert "Hồng Ngự" in at.subheader[0].value  # a place is open
    at.text_input(key="loc_q").input("tram chym").run()
    assert not errors(at)
    assert at.query_params["unit"] == "868"  # a suggestion is not opened unasked
    info = shown(" ".join(i.value for i in at.info))
    assert "tram chym" in info and "Có phải bạn tìm:" in info
    # the previous place is gone: no heading, no headline figures under the new query
    assert not at.subheader and not at.metric
    near = [b for b in at.button if b.key and b.key.startswith("near_")]
    labels = [shown(b.label) for b in near]
    # both vintages of the demo release, each with its parents
    assert "Xã Tràm Chim, Tỉnh Đồng Tháp (2025)" in labels
    assert any(lbl.startswith("Thị trấn Tràm Chim, Huyện Tam Nông, Tỉnh Đồng Tháp (") for lbl in labels)
    pick = next(b for b in near if shown(b.label).startswith("Thị trấn Tràm Chim"))
    pick.click().run()
    assert not errors(at)
    assert at.text_input(key="loc_q").value == "Thị trấn Tràm Chim"
    assert "Tràm Chim" in at.subheader[0].value
    assert at.metric  # the profile is drawn


def test_nothing_close_says_so_and_shows_no_place(demo_env):
    at = open_page("pages/locality.py", year="2024", unit="868")
    at.text_input(key="loc_q").input("zzzz qqq").run()
    assert not errors(at)
    assert any("zzzz qqq" in shown(i.value) and "gần giống" in shown(i.value) for i in at.info)
    assert not at.subheader and not at.metric
    assert not [b for b in at.button if b.key and b.key.startswith("near_")]


def test_a_name_without_its_space_opens_the_place(demo_env):
    at = open_page("pages/locality.py", year="2024")
    at.text_input(key="loc_q").input("hongngu").run()
    assert not errors(at)
    assert "Hồng Ngự" in at.subheader[0].value
    assert at.query_params["unit"] in {"868", "870", "29955"}
