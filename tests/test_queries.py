"""ui.queries on a small hand-made release: the headline cell, the year before, "rank r of N"."""
import math

import pandas as pd
import pytest

from ui import queries

NAN = math.nan
COLUMNS = ["year", "level", "unit_code", "parent_code", "service", "indicator", "value", "suppressed", "rank",
           "source", "basis"]
ROWS = [
    # 2024, the districts of province 87: 870 withheld; 869 has only a published figure
    (2024, "district", "866", "87", "all", "sipas", 78.0, False, 2.0, "computed", "pooled"),
    (2024, "district", "868", "87", "all", "sipas", 80.5, False, 1.0, "computed", "pooled"),
    (2024, "district", "870", "87", "all", "sipas", NAN, True, NAN, "computed", "pooled"),
    (2024, "district", "871", "87", "all", "sipas", 75.25, False, 3.0, "computed", "pooled"),
    (2024, "district", "868", "87", "all", "sipas", 80.0, False, NAN, "official", "published"),
    (2024, "district", "869", "87", "all", "sipas", 83.0, False, NAN, "official", "published"),
    (2024, "district", "866", "87", "birth", "sipas", 65.0, False, 2.0, "computed", "pooled"),
    (2024, "district", "868", "87", "birth", "sipas", 70.0, False, 1.0, "computed", "pooled"),
    (2024, "district", "870", "87", "birth", "sipas", NAN, True, NAN, "computed", "pooled"),
    # earlier years of 868 (2021 -> 2022: the scheme changed); 866 withheld in 2023
    (2021, "district", "868", "87", "all", "sipas", 70.0, False, 1.0, "computed", "pooled"),
    (2022, "district", "868", "87", "all", "sipas", 72.0, False, 1.0, "computed", "pooled"),
    (2023, "district", "868", "87", "all", "sipas", 79.0, False, 1.0, "computed", "pooled"),
    (2023, "district", "866", "87", "all", "sipas", NAN, True, NAN, "computed", "pooled"),
    (2023, "district", "869", "87", "all", "sipas", 84.0, False, NAN, "official", "published"),
    # 2025, after the reform: communes of the new province 82; 82001's 2024 restated on its units
    (2025, "commune", "82001", "82", "all", "sipas", 81.0, False, 1.0, "computed", "pooled"),
    (2025, "commune", "82002", "82", "all", "sipas", 79.0, False, 2.0, "computed", "pooled"),
    (2024, "commune", "82001", "82", "all", "sipas", 77.5, False, 1.0, "computed", "restated"),
    # nationwide: published figures only
    (2023, "country", "VN", None, "all", "sipas", 81.0, False, NAN, "official", "published"),
    (2024, "country", "VN", None, "all", "sipas", 82.0, False, NAN, "official", "published"),
]
FRAME = pd.DataFrame(ROWS, columns=COLUMNS)
YEARS = [2021, 2022, 2023, 2024, 2025]


class Reader:
    """``Release.read``'s keywords and meaning (None: any; restated=False: own units only)."""

    def __init__(self):
        self.calls = []

    def __call__(self, *, year=None, level=None, parent=None, unit=None, service="all", indicator="sipas",
                 source=None, restated=False):
        self.calls.append(dict(year=year, level=level, parent=parent, unit=unit, service=service,
                               indicator=indicator, source=source, restated=restated))
        d = FRAME
        for col, v in (("year", year), ("level", level), ("parent_code", parent), ("unit_code", unit),
                       ("service", service), ("indicator", indicator), ("source", source)):
            if v is not None:
                d = d[d[col].isin(v if isinstance(v, list) else [v])]
        if restated is not None:
            d = d[(d["basis"] == "restated") == restated]
        return d.reset_index(drop=True)


@pytest.fixture()
def read():
    return Reader()


def cell(**kw):
    return {"year": 2024, "service": "all", "indicator": "sipas", **kw}


# ---------------------------------------------------------------------------------------------
# the headline cell

def test_the_headline_is_the_computed_cell_before_the_published_one(read):
    row = queries.headline(read, **cell(unit="868"))
    assert (row["value"], row["source"]) == (80.5, "computed")


def test_without_a_computed_cell_the_headline_is_the_published_figure(read):
    row = queries.headline(read, **cell(unit="869"))
    assert (row["value"], row["source"]) == (83.0, "official")
    assert queries.headline(read, **cell(unit="869"), published=False) is None
    assert queries.headline(read, **cell(unit="VN"))["value"] == 82.0


def test_a_cell_the_release_lacks_has_no_headline(read):
    assert queries.headline(read, **cell(unit="99999")) is None
    assert queries.headline(read, **cell(unit="868", service="land_certificate")) is None


def test_a_withheld_headline_is_returned_as_withheld(read):
    row = queries.headline(read, **cell(unit="870"))
    assert bool(row["suppressed"]) and queries.missing(row["value"])


# ---------------------------------------------------------------------------------------------
# the year before

def test_the_year_before_on_the_same_units(read):
    p = queries.previous(read, YEARS, **cell(unit="868"))
    assert (p.year, p.value, p.restated, p.method_break) == (2023, 79.0, False, False)
    assert read.calls[-1]["restated"] is False


def test_across_the_reform_the_year_before_is_the_restated_cell(read):
    p = queries.previous(read, YEARS, **cell(unit="82001", year=2025))
    assert (p.year, p.value, p.restated) == (2024, 77.5, True)
    assert read.calls[-1] == dict(year=2024, level=None, parent=None, unit="82001", service="all",
                                  indicator="sipas", source=None, restated=True)
    assert p.comparison.same_scheme and not p.comparison.same_units


def test_across_a_scheme_change_the_year_before_is_kept_and_flagged(read):
    p = queries.previous(read, YEARS, **cell(unit="868", year=2022))
    assert (p.year, p.value, p.restated, p.method_break) == (2021, 70.0, False, True)


def test_no_year_before_in_the_release(read):
    p = queries.previous(read, [2024, 2025], **cell(unit="868"))
    assert (p.year, p.comparison, p.row, p.value, p.restated, p.method_break) == (None, None, None, None, False,
                                                                                   False)
    assert read.calls == []  # nothing is read


def test_a_withheld_or_missing_cell_the_year_before(read):
    p = queries.previous(read, YEARS, **cell(unit="866"))
    assert p.year == 2023 and p.row is not None and bool(p.row["suppressed"]) and p.value is None
    p = queries.previous(read, YEARS, **cell(unit="871"))
    assert p.year == 2023 and p.row is None and p.value is None


def test_the_year_before_is_computed_except_nationwide(read):
    # 869 has only a published figure in 2023: a unit's change is between computed cells
    assert queries.previous(read, YEARS, **cell(unit="869")).row is None
    # nationwide the published figure is the one there is
    p = queries.previous(read, YEARS, **cell(unit="VN"))
    assert (p.year, p.value, p.row["source"]) == (2023, 81.0, "official")


# ---------------------------------------------------------------------------------------------
# rank r of N

def test_rank_of_counts_the_shown_computed_siblings(read):
    row = queries.headline(read, **cell(unit="868"))
    # 866, 868, 871 shown; 870 withheld; the published 868 and 869 are not units of the ranking
    assert queries.rank_of(read, row, **cell()) == queries.Rank(1.0, 3, "district", "87")
    assert read.calls[-1] == dict(year=2024, level="district", parent="87", unit=None, service="all",
                                  indicator="sipas", source=None, restated=False)
    row = queries.headline(read, **cell(unit="871"))
    assert queries.rank_of(read, row, **cell()) == queries.Rank(3.0, 3, "district", "87")
    row = queries.headline(read, **cell(unit="866", service="birth"))
    assert queries.rank_of(read, row, **cell(service="birth")) == queries.Rank(2.0, 2, "district", "87")


def test_cells_without_a_rank(read):
    for unit in ("870", "869", "VN"):  # withheld, published only, nationwide
        assert queries.rank_of(read, queries.headline(read, **cell(unit=unit)), **cell()) is None, unit
    assert queries.rank_of(read, None, **cell()) is None
    row = queries.headline(read, **cell(unit="868")).copy()
    row["parent_code"] = None
    assert queries.rank_of(read, row, **cell()) is None


def test_siblings_and_the_totals_of_every_service(read):
    sib = queries.siblings(read, year=2024, level="district", parent="87", service="all", indicator="sipas")
    assert sorted(sib["unit_code"]) == ["866", "868", "870", "871"]
    assert queries.shown_count(sib) == 3
    totals = queries.totals_by_service(read, year=2024, level="district", parent="87", indicator="sipas")
    assert totals.to_dict() == {"all": 3, "birth": 2}
    assert totals.get("land_certificate") is None


def test_the_module_needs_no_streamlit():
    import ast
    import inspect
    tree = ast.parse(inspect.getsource(queries))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "streamlit" not in imported
