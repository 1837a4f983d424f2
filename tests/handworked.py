"""A small set of forms whose indices are worked out by hand in tests/test_engine.py.

Scheme sipas-2017, year 2019, province 87, district 866 with communes C1, C2, C3, C4, and one
district-level form (F6). Every form answers all 22 items with one value, except where noted.
"""
import pandas as pd

from sipas_data.scheme import get_scheme

M = get_scheme("sipas-2017")
ITEMS = M.item_ids()
C1, C2, C3, C4 = "29000", "29001", "29002", "29003"


def form(form_id, commune, service, value, **overrides):
    row = {"form_id": form_id, "year": 2019, "scheme": "sipas-2017", "province_code": "87",
           "district_code": "866", "commune_code": commune, "service": service,
           "agency_level": "commune" if commune else "district", "weight": 1.0}
    row.update({item: value for item in ITEMS})
    row.update(overrides)
    return row


def forms() -> pd.DataFrame:
    rows = [
        form("F1", C1, "birth", 5, gender="female"),
        form("F2", C1, "birth", 2, access_1=None, gender="male"),
        form("F3", C1, "marriage", 4, feedback_4=None, procedures_1=None, gender="female"),
        form("F4", C2, "birth", 3, gender="male"),
        form("F5", C2, "birth", 4, gender="female"),
        form("F6", None, "id_card", 5, **{f"civil_servants_{k}": 1 for k in range(1, 7)}),
        form("F7", C3, "birth", 4),
        form("F8", C4, "birth", 4),
        form("F9", C4, "birth", 2),
    ]
    df = pd.DataFrame(rows)
    for item in ITEMS:
        df[item] = df[item].astype("Int8")
    return df
