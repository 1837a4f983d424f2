"""ui.memo: digests follow content (equal frames agree, any change differs); memoised frames are copies."""
import numpy as np
import pandas as pd

from ui import memo


def _frame():
    return pd.DataFrame({"code": ["868", "870", None], "value": [80.5, np.nan, 70.0], "n": [100, 50, 7],
                         "suppressed": [False, False, True]})


def test_equal_content_equal_digest():
    a = _frame()
    b = pd.concat([a.iloc[:1], a.iloc[1:]])  # same content, other history
    assert memo.digest(a) == memo.digest(b) == memo.digest(a.copy())
    assert memo.digest([1.0, "x", None], {"a": 1}) == memo.digest([1.0, "x", None], {"a": 1})


def test_any_change_changes_the_digest():
    a = _frame()
    base = memo.digest(a)
    changes = [a.assign(value=[80.5, np.nan, 70.1]), a.assign(code=["868", "871", None]),
               a.rename(columns={"n": "m"}), a.astype({"n": "float64"}), a.set_axis([1, 2, 3]), a.iloc[:2],
               a.assign(suppressed=[False, True, True])]
    assert all(memo.digest(c) != base for c in changes)
    assert memo.digest(a["value"]) != memo.digest(a["value"].rename("v"))
    assert memo.digest([1, 2]) != memo.digest((1, 2)) != memo.digest([2, 1])


def test_memoised_frames_are_copies():
    calls = []

    @memo.frames()
    def build(df, k):
        calls.append(k)
        return df.assign(k=k)

    a = build(_frame(), 1)
    a.loc[0, "value"] = -1
    b = build(_frame(), 1)
    assert calls == [1] and b.loc[0, "value"] == 80.5
    build(_frame(), 2)
    assert calls == [1, 2]
