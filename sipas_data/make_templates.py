"""Build the form templates shipped in ``sipas_data/templates/``.

    python -m sipas_data.make_templates [--out DIR]

For each built-in scheme: ``mau-phieu-<scheme>.xlsx`` (blank: Vietnamese headers in row 1 of the
sheet "Phiếu", a sheet "Hướng dẫn" explaining each column and the accepted values) and
``vi-du-phieu-<scheme>.xlsx`` (about twenty filled, valid forms from Đồng Tháp with real codes from
the unit registry). Every header written here is read back by :mod:`sipas_data.importer`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from .importer import canonical_header
from .scheme import PROFILE_DIMENSIONS, Scheme, builtin_schemes

TEMPLATE_DIR = Path(__file__).parent / "templates"

BASE_HEADERS = {
    "form_id": "Mã phiếu", "year": "Năm khảo sát", "scheme": "Bộ chỉ số", "province_code": "Mã tỉnh",
    "district_code": "Mã huyện", "commune_code": "Mã xã", "service": "Dịch vụ",
    "agency_level": "Cấp giải quyết", "gender": "Giới tính", "age_group": "Nhóm tuổi",
    "education": "Trình độ học vấn", "occupation": "Nghề nghiệp", "ethnicity": "Dân tộc",
    "weight": "Trọng số", "collected_on": "Ngày khảo sát", "channel": "Hình thức",
}
ELEMENT_HEADERS = {
    "access": "Tiếp cận", "procedures": "Thủ tục", "civil_servants": "Công chức",
    "results": "Kết quả", "feedback": "Góp ý", "accountability": "Trách nhiệm giải trình",
    "participation": "Tham gia", "policy_quality": "Chất lượng chính sách",
    "policy_impact": "Tác động chính sách",
}
EXAMPLE_YEAR = {"sipas-2017": 2021, "sipas-2022": 2024}
PROVINCE = "87"                      # Đồng Tháp (units in force until 30 June 2025)
DISTRICTS = ("866", "868")           # Thành phố Cao Lãnh, Thành phố Hồng Ngự
FIXED_TIME = dt.datetime(2025, 1, 1)


def columns(m: Scheme) -> list[tuple[str, str, str, str]]:
    """(header, canonical column, required, explanation) for every column of a form of ``m``."""
    prof = m.profile
    svc = "; ".join(f"{s.id} = {s.label['vi']} (cấp {'huyện' if s.level == 'district' else 'xã'})"
                    for s in m.services)
    rows = [
        ("form_id", "có", "Mã/số phiếu, không trùng trong một năm khảo sát."),
        ("year", "có", f"Năm khảo sát (4 chữ số); bộ chỉ số {m.id} áp dụng "
                      f"{m.first_year}–{m.last_year or 'nay'}."),
        ("scheme", "không", f"'{m.id}'; để trống thì lấy theo năm khảo sát."),
        ("province_code", "có", "Mã tỉnh của Tổng cục Thống kê (2 chữ số, ví dụ 87 = Đồng Tháp); "
                                "xem bảng mã tỉnh bên dưới."),
        ("district_code", "đến 2024", "Mã huyện (3 chữ số) thuộc tỉnh đã ghi; bắt buộc đến năm 2024, "
                                      "để trống từ năm 2025 (không còn cấp huyện)."),
        ("commune_code", "cấp xã", "Mã xã (5 chữ số) thuộc huyện/tỉnh đã ghi; bắt buộc khi cơ quan "
                                   "giải quyết là cấp xã, để trống khi là cấp huyện."),
        ("service", "có", f"Mã hoặc tên dịch vụ: {svc}."),
        ("agency_level", "không", "district (huyện) hoặc commune (xã); để trống thì lấy theo dịch vụ "
                                  "(từ 2025 luôn là xã)."),
    ]
    for dim in PROFILE_DIMENSIONS:
        opts = "; ".join(f"{o['code']} = {o['label']['vi']}" for o in prof[dim]["options"])
        rows.append((dim, "không", f"Ghi mã số hoặc nội dung: {opts}."))
    rows += [
        ("weight", "không", "Trọng số (số > 0); để trống = 1."),
        ("collected_on", "không", "Ngày thu phiếu (dd/mm/yyyy)."),
        ("channel", "không", "Hình thức khảo sát (trực tiếp, trực tuyến...)."),
    ]
    out = [(BASE_HEADERS[c], c, req, text) for c, req, text in rows]
    scale = ", ".join(f"{v} = {lab['vi']}" for v, lab in sorted(m.scale_labels.items()))
    for el in m.elements:
        for k, it in enumerate(el.items, start=1):
            years = ""
            if it.from_year or it.to_year:
                years = f" (chỉ hỏi {it.from_year or m.first_year}–{it.to_year or 'nay'})"
            out.append((f"{ELEMENT_HEADERS[el.id]} {k}", it.id, "không",
                        f"{el.label['vi']}: {it.label['vi']}{years}. Trả lời {scale}; để trống, 0 "
                        "hoặc 'không trả lời' = không có câu trả lời hợp lệ."))
    for k, o in enumerate(m.expectation_options, start=1):
        if m.expectation_kind == "multi_select":
            how = "đánh dấu 1 (hoặc x) nếu người dân chọn, để trống nếu không"
        else:
            how = "; ".join(f"{v} = {lab['vi']}" for v, lab in sorted(m.expectation_scale.items()))
        out.append((f"Mong đợi {k}", f"expect_{o.id}", "không", f"{o.label['vi']}: {how}."))
    for p in m.perceptions:
        opts = "; ".join(f"{o.code} = {o.label['vi']}" for o in p.options)
        out.append((p.label["vi"], p.column, "không", f"Ghi mã số: {opts}."))
    for header, canon, _, _ in out:
        got = canonical_header(header)
        assert got == canon or (canon.startswith("expect_") and got and got.startswith("expect_")), \
            (header, canon, got)
    return out


def _workbook(m: Scheme, rows: list[list]) -> Workbook:
    cols = columns(m)
    wb = Workbook()
    wb.properties.creator = "SIPAS dashboard"
    wb.properties.created = wb.properties.modified = FIXED_TIME
    ws = wb.active
    ws.title = "Phiếu"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    ws.append([h for h, _, _, _ in cols])
    for cell in ws[1]:
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "B2"
    for row in rows:
        ws.append(row)
    date_col = [c for _, c, _, _ in cols].index("collected_on") + 1
    for r in range(2, len(rows) + 2):
        ws.cell(r, date_col).number_format = "dd/mm/yyyy"
    for i, (h, _, _, _) in enumerate(cols, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = max(8, min(24, len(h) + 2))

    guide = wb.create_sheet("Hướng dẫn")
    guide.append([f"Mẫu nhập phiếu khảo sát {m.label['vi']}"])
    guide["A1"].font = Font(bold=True, size=13)
    guide.append(["Mỗi dòng của trang 'Phiếu' là một phiếu. Mã đơn vị hành chính theo danh mục của "
                  "Tổng cục Thống kê, nhập dạng văn bản để giữ số 0 ở đầu (phần mềm tự thêm nếu thiếu)."])
    guide.append([])
    guide.append(["Cột", "Tên chuẩn", "Bắt buộc", "Nội dung và giá trị hợp lệ"])
    for cell in guide[4]:
        cell.font, cell.fill = bold, fill
    for c in cols:
        guide.append(list(c))
    guide.append([])
    guide.append(["Mã tỉnh (đến 30/6/2025)", "", "", "Mã tỉnh (từ 1/7/2025)"])
    from geo.registry import units
    old = units("2019").query("level == 'province'")[["code", "name"]].values.tolist()
    new = units("2025").query("level == 'province'")[["code", "name"]].values.tolist()
    for i in range(max(len(old), len(new))):
        a = old[i] if i < len(old) else ["", ""]
        b = new[i] if i < len(new) else ["", ""]
        guide.append([a[0], a[1], "", f"{b[0]} {b[1]}".strip()])
    for col, width in zip("ABCD", (26, 20, 10, 90)):
        guide.column_dimensions[col].width = width
    return wb


def example_rows(m: Scheme, n: int = 20, seed: int = 2024) -> list[list]:
    """About ``n`` valid forms from Đồng Tháp for the scheme's example year (2 at district level)."""
    from geo.registry import units
    rng = random.Random(seed)
    year = EXAMPLE_YEAR[m.id]
    reg = units("2019")
    communes = {d: reg[(reg.level == "commune") & (reg.parent_code == d)]["code"].tolist()[:4]
                for d in DISTRICTS}
    commune_svcs = [s.id for s in m.services if s.level == "commune"]
    district_svcs = [s.id for s in m.services if s.level == "district"]
    asked = set(m.item_ids(year))
    out = []
    for i in range(n):
        district = DISTRICTS[i % 2]
        at_district = i >= n - 2
        service = district_svcs[i % len(district_svcs)] if at_district else commune_svcs[i % len(commune_svcs)]
        commune = "" if at_district else communes[district][i % len(communes[district])]
        row = {"form_id": f"DT{year}-{i + 1:03d}", "year": year, "scheme": m.id,
               "province_code": PROVINCE, "district_code": district, "commune_code": commune,
               "service": service, "agency_level": "district" if at_district else "commune",
               "weight": None, "collected_on": dt.date(year, 9, 1) + dt.timedelta(days=i),
               "channel": "trực tiếp"}
        for dim in PROFILE_DIMENSIONS:
            row[dim] = rng.choice(m.profile[dim]["options"])["code"]
        for it in m.items():
            if it.id in asked:
                row[it.id] = rng.choices([1, 2, 3, 4, 5, 0], weights=[1, 2, 6, 30, 20, 1])[0]
        for o in m.expectation_options:
            if m.expectation_kind == "multi_select":
                row[f"expect_{o.id}"] = 1 if rng.random() < 0.3 else None
            else:
                row[f"expect_{o.id}"] = rng.choice([1, 2, 3])
        for p in m.perceptions:
            row[p.column] = rng.choice(p.options).code
        out.append([row.get(c) for _, c, _, _ in columns(m)])
    return out


def _normalise_zip(path: Path) -> None:
    """Rewrite the workbook with fixed timestamps so a rebuild gives the same bytes."""
    import re
    import zipfile
    with zipfile.ZipFile(path) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


def build(out_dir: Path = TEMPLATE_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for m in builtin_schemes().values():
        for name, rows in ((f"mau-phieu-{m.id}.xlsx", []), (f"vi-du-phieu-{m.id}.xlsx", example_rows(m))):
            path = out_dir / name
            _workbook(m, rows).save(path)
            _normalise_zip(path)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sipas_data.make_templates",
                                 description="Build the blank and example form workbooks.")
    ap.add_argument("--out", type=Path, default=TEMPLATE_DIR, help="folder to write to")
    args = ap.parse_args(argv)
    for path in build(args.out):
        print(f"{path.name}: {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
