"""serving.reader.SliceReader answers exactly like Release.read (rows, order, columns, dtypes)."""
import pandas as pd
import pytest

from serving.reader import SliceReader

CASES = [
    {},
    dict(year=2024),
    dict(year=2024, level="district", service=None),
    dict(year=2024, unit="868", service="all", indicator=None, level=None, source="computed"),
    dict(year=2024, unit=["868", "870", "866"], service="all", indicator="sipas", level=None, source="computed"),
    dict(year=None, unit="868", service=None, indicator="sipas", level=None, source="computed"),
    dict(year=None, unit=["868", "870"], service="birth", indicator="sipas", level=None, source="computed",
         restated=None),
    dict(year=2023, unit="868", service="all", indicator="sipas", level=None, restated=True),
    dict(year=2024, level="commune", parent="870", service="marriage", indicator=None),
    dict(year=None, level="country", unit="VN", service="all", indicator="sipas", source="official"),
    dict(year=None, level=None, service=None, indicator=None, source="official", restated=None),
    dict(year=None, level=None, service="all", indicator="sipas", source="computed", restated=False,
         columns=["year", "level", "unit_code", "n", "suppressed"]),
    dict(year=2025, level=None, service="all", indicator="sipas", source=None, columns=["scheme"]),
    dict(year=1990, level="district"),
    dict(year=2024, unit="nowhere"),
    dict(year=2024, level="province", breakdown="gender", indicator=None),
    dict(year=2024, breakdown=None, unit="868"),
]


@pytest.fixture(scope="module")
def release(demo_release_root):
    from sipas_data.release import open_release
    return open_release(root=demo_release_root)


@pytest.mark.parametrize("filters", CASES, ids=[str(i) for i in range(len(CASES))])
def test_slices_match_release_read(release, filters):
    reader = SliceReader(release)
    want = release.read(**filters)
    got = reader.read(**filters)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
