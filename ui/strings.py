"""Every label the dashboard shows, Vietnamese first, English second: one table.

``t(key, lang, **kw)`` looks a label up and fills ``{placeholders}``. A missing key raises
KeyError (a test walks every key used by the pages).
"""
from __future__ import annotations

LANGS = ("vi", "en")

S: dict[str, tuple[str, str]] = {
    # app and navigation
    "app_title": ("Chỉ số hài lòng về sự phục vụ hành chính (SIPAS)",
                  "Satisfaction Index of Public Administrative Services (SIPAS)"),
    "page_overview": ("Tổng quan", "Overview"),
    "page_map": ("Bản đồ", "Map"),
    "page_services": ("Dịch vụ", "Services"),
    "page_compare": ("So sánh", "Compare"),
    "page_locality": ("Địa phương", "Locality"),
    "page_methodology": ("Phương pháp & dữ liệu", "Methodology & data"),
    "building_demo": ("Đang tạo dữ liệu minh họa…", "Building the demo data…"),
    "no_release": ("Chưa có bản phát hành dữ liệu nào.", "No data release is installed."),
    "no_readable_release": ("Không đọc được bản phát hành dữ liệu nào: tệp bị hỏng hoặc chưa đầy đủ. "
                            "Đơn vị quản trị trang cần kiểm tra lại.",
                            "No data release can be read: its files are damaged or incomplete. "
                            "The site's operators need to check it."),
    "release_stale": ("Các tệp đã công bố của bản phát hành {release} hiện bị thiếu hoặc hỏng; trang đang hiển thị "
                      "bản sao đã kiểm tra gần nhất của bản phát hành này.",
                      "The published files of release {release} are missing or damaged right now; this page shows "
                      "the last verified copy of that release."),
    "release_unreadable": ("Không đọc được bản phát hành {release} (tệp bị thiếu hoặc hỏng); trang đang hiển thị "
                           "bản phát hành đọc được mới nhất.",
                           "Release {release} cannot be read (missing or damaged files); this page shows the newest "
                           "readable release."),
    "chart_alt": ("Biểu đồ: {title}. Số liệu của biểu đồ có trong bảng ngay dưới.",
                  "Chart: {title}. The chart's numbers are in the table just below."),
    "chart_table": ("Bảng số liệu của biểu đồ", "The chart's numbers as a table"),
    "chart_series": ("Chuỗi", "Series"),
    "chart_category": ("Mục", "Category"),
    "friendly_error": ("Đã có lỗi khi hiển thị trang này. Vui lòng thử lại hoặc chọn bộ lọc khác.",
                       "Something went wrong while showing this page. Please try again or choose other filters."),
    "demo_badge": ("DỮ LIỆU MINH HỌA", "DEMO DATA"),
    "watermark": ("DỮ LIỆU MINH HỌA / DEMO DATA", "DỮ LIỆU MINH HỌA / DEMO DATA"),
    "release_badge": ("Bản phát hành: {release}", "Release: {release}"),
    "language": ("Ngôn ngữ / Language", "Ngôn ngữ / Language"),
    "filters": ("Bộ lọc", "Filters"),
    # filters
    "f_release": ("Bản phát hành", "Release"),
    "f_year": ("Năm", "Year"),
    "f_level": ("Cấp hiển thị", "Level shown"),
    "f_unit": ("Địa bàn", "Area"),
    "f_service": ("Dịch vụ", "Service"),
    "f_indicator": ("Chỉ số", "Indicator"),
    "f_map_style": ("Kiểu bản đồ", "Map style"),
    "map_tiles": ("Ô lục giác (tile map)", "Hexagon tiles"),
    "map_boundaries": ("Ranh giới hành chính", "Boundaries"),
    "all_services": ("Tất cả dịch vụ", "All services"),
    "nationwide": ("Toàn quốc", "Nationwide"),
    "level_country": ("Toàn quốc", "Country"),
    "level_province": ("Tỉnh/thành phố", "Province"),
    "level_district": ("Huyện/quận/thị xã/thành phố", "District"),
    "level_commune": ("Xã/phường/thị trấn", "Commune"),
    "levels_province": ("tỉnh/thành phố", "provinces"),
    "levels_district": ("đơn vị cấp huyện", "districts"),
    "levels_commune": ("xã/phường", "communes"),
    # notices (bad URL values)
    "notice_release": ("Không tìm thấy bản phát hành “{value}”; đang hiển thị “{fallback}”.",
                       "Release “{value}” was not found; showing “{fallback}”."),
    "notice_year": ("Năm “{value}” không có trong dữ liệu; đang hiển thị năm {fallback}.",
                    "Year “{value}” is not in the data; showing {fallback}."),
    "notice_unit": ("Địa bàn “{value}” không có dữ liệu năm {year}; đang hiển thị {fallback}.",
                    "Area “{value}” has no data for {year}; showing {fallback}."),
    "notice_level": ("Cấp “{value}” không dùng được ở đây; đang hiển thị cấp {fallback}.",
                     "Level “{value}” cannot be used here; showing level {fallback}."),
    "notice_service": ("Dịch vụ “{value}” không có trong năm {year}; đang hiển thị tất cả dịch vụ.",
                       "Service “{value}” is not in {year}; showing all services."),
    "notice_indicator": ("Chỉ số “{value}” không có trong năm {year}; đang hiển thị chỉ số SIPAS.",
                         "Indicator “{value}” is not in {year}; showing the SIPAS index."),
    "notice_lang": ("Ngôn ngữ “{value}” không được hỗ trợ; đang dùng tiếng Việt.",
                    "Language “{value}” is not supported; using Vietnamese."),
    "notice_map": ("Chưa cài ranh giới hành chính cho cấp này; đang dùng bản đồ ô lục giác.",
                   "No boundaries are installed for this level; showing hexagon tiles."),
    "notice_map_value": ("Kiểu bản đồ “{value}” không hợp lệ; đang dùng “{fallback}”.",
                         "Map style “{value}” is not valid; using “{fallback}”."),
    "notice_compare": ("Bỏ qua các địa bàn không có dữ liệu năm {year}: {value}.",
                       "Ignored areas with no data for {year}: {value}."),
    "notice_compare_max": ("Chỉ so sánh tối đa {max} địa bàn; đã bỏ bớt.",
                           "At most {max} areas can be compared; the rest were dropped."),
    # comparability warnings
    "warn_method": ("Phương pháp đo thay đổi từ năm 2022 (QĐ 979/QĐ-BNV): số liệu trước và sau 2022 "
                    "không so sánh trực tiếp được.",
                    "The method changed in 2022 (Decision 979/QĐ-BNV): figures before and after 2022 "
                    "are not directly comparable."),
    "warn_boundary": ("Từ 1/7/2025 đơn vị hành chính thay đổi (34 tỉnh, không còn cấp huyện): "
                      "năm 2025 dùng đơn vị mới.",
                      "Administrative units changed on 1 July 2025 (34 provinces, no districts): "
                      "2025 uses the new units."),
    "restated_note": ("Các năm trước 2025 được tính lại trên đơn vị mới "
                      "(số liệu tính lại, không phải số liệu chính thức).",
                      "Years before 2025 are recomputed on the new units (restated, not official figures)."),
    "restated": ("tính lại trên đơn vị 2025", "restated on 2025 units"),
    "unit_gone": ("Đơn vị này không còn sau sắp xếp năm 2025.",
                  "This unit no longer exists after the 2025 reorganisation."),
    # figure text
    "source_line": ("Nguồn: {publisher}, {title}, {created}", "Source: {publisher}, {title}, {created}"),
    "n_line": ("n = {n}", "n = {n}"),
    # Units across the 2025 reform: a unit is (vintage, code); lineage, restated coverage, what n counts, ranks
    "n_line_forms": ("n = {n} phiếu (mọi dịch vụ, mọi cấp giải quyết trên địa bàn)",
                     "n = {n} forms (all services, at every level handling them in the area)"),
    "n_line_forms_commune": ("n = {n} phiếu (dịch vụ do xã giải quyết)",
                             "n = {n} forms (services handled by the commune)"),
    "n_line_forms_level": ("n = {n} phiếu về dịch vụ do {level} giải quyết (cộng các {level})",
                           "n = {n} forms on services handled by {level} (summed over the {level})"),
    "n_line_forms_service": ("n = {n} phiếu về dịch vụ này", "n = {n} forms on this service"),
    "n_line_answers": ("n = {n} câu trả lời hợp lệ", "n = {n} valid answers"),
    "n_line_forms_each": ("n (phiếu, mọi dịch vụ) = {n}", "n (forms, all services) = {n}"),
    "n_forms": ("n (phiếu)", "n (forms)"),
    "n_answers": ("n (câu trả lời)", "n (answers)"),
    "rank_among": ("{rank}/{total} {level} của {parent}", "{rank} of {total} {level} in {parent}"),
    "rank_alone": ("không xếp hạng (đơn vị duy nhất có số liệu trong {parent})",
                   "not ranked (the only unit with results in {parent})"),
    "lin_part_of": ("Từ {date}, {name} là một phần của {new}.", "Since {date}, {name} has been part of {new}."),
    "lin_split": ("Từ {date}, {name} được chia cho: {new}.", "Since {date}, {name} has been split among: {new}."),
    "lin_district_gone": ("Từ {date} không còn cấp huyện; địa bàn của {name} nay thuộc {new}.",
                          "Since {date} there are no districts; the area of {name} is now in {new}."),
    "lin_formed_from": ("{name} được hình thành từ {date}, từ: {olds}.", "{name} was formed on {date} from: {olds}."),
    "lin_restated_only": ("Trước {date}, {name} chỉ có số liệu tính lại từ các đơn vị cũ.",
                          "Before {date}, {name} has only results restated from the old units."),
    "lin_ends": ("Chuỗi số liệu riêng của {name} dừng ở năm {year}.", "{name}'s own series ends in {year}."),
    "lin_open": ("{name} ({year})", "{name} ({year})"),
    "notice_carry_part_of": ("{old} (năm {old_year}) từ {date} thuộc {new}: đang hiển thị {new}, năm {year}.",
                             "{old} ({old_year}) has been part of {new} since {date}: showing {new}, {year}."),
    "notice_carry_split": ("{old} (năm {old_year}) từ {date} được chia cho {choices}: đang hiển thị {new}, "
                           "năm {year}; có thể chọn đơn vị khác.",
                           "{old} ({old_year}) was split among {choices} on {date}: showing {new}, {year}; "
                           "you can pick another."),
    "notice_carry_formed": ("{old} chỉ có từ {date}, hình thành từ {choices}: đang hiển thị {shown}, năm {year}.",
                            "{old} exists only from {date}, formed from {choices}: showing {shown}, {year}."),
    "notice_carry_none": ("{old} (năm {old_year}) không có đơn vị tương ứng có số liệu năm {year}; "
                          "đang hiển thị {shown}.",
                          "{old} ({old_year}) has no matching unit with results in {year}; showing {shown}."),
    "restated_series": ("{name} (tính lại)", "{name} (restated)"),
    "unit_before": ("{name} (trước {date})", "{name} (before {date})"),
    "unit_since": ("{name} (từ {date})", "{name} (from {date})"),
    "cov_restated": ("Số năm {year} là số tính lại từ: {parts}.", "The {year} value is restated from: {parts}."),
    "cov_part": ("{name} ({n} phiếu)", "{name} ({n} forms)"),
    "cov_series": ("Số liệu tính lại {years} gồm: {parts}.", "The restated values of {years} cover: {parts}."),
    "cov_missing": ("chưa có số liệu của {names}", "no results for {names}"),
    "cov_not_same": ("Không so sánh thay đổi: năm {year} gồm {now}, năm {prev} chỉ gồm {before}.",
                     "No change is given: {year} covers {now}, {prev} only {before}."),
    "cmp_criteria_vs": ("Tiêu chí của {name} thấp hơn {parent}", "Criteria where {name} is below {parent}"),
    "cmp_criteria_none": ("Không có tiêu chí nào thấp hơn {parent}.", "No criterion is below {parent}."),
    "cmp_gap": ("Chênh lệch (điểm %)", "Gap (points)"),
    "loc_sure_forms": ("Dựa trên {n} phiếu; khoảng tin cậy 95%: {lo}–{hi}.",
                       "Based on {n} forms; 95% interval: {lo}–{hi}."),
    "suppressed_class": ("không công bố", "withheld"),
    "no_data_class": ("không có dữ liệu", "no data"),
    "suppressed": ("không công bố: dưới {threshold} câu trả lời, hoặc để không suy ra được ô khác",
                   "withheld: fewer than {threshold} answers, or so that another cell cannot be worked out"),
    "hover_value": ("Giá trị", "Value"),
    "hover_ci": ("Khoảng tin cậy 95%", "95% interval"),
    "hover_rank": ("Hạng", "Rank"),
    "rank_of": ("{rank}/{total}", "{rank}/{total}"),
    "ci95": ("KTC 95%", "95% CI"),
    "year": ("Năm", "Year"),
    "value": ("Giá trị (%)", "Value (%)"),
    "unit": ("Địa bàn", "Area"),
    "code": ("Mã", "Code"),
    "n": ("n", "n"),
    "rank": ("Hạng", "Rank"),
    "change": ("Thay đổi (điểm %)", "Change (points)"),
    "interval": ("KTC 95%", "95% interval"),
    "status": ("Ghi chú", "Note"),
    "national_official": ("Bình quân toàn quốc (chính thức)", "National average (official)"),
    "method_break": ("Đổi phương pháp", "Method change"),
    # Overview
    "ov_title": ("Tổng quan", "Overview"),
    "ov_headline": ("{indicator} · {place} · {year}", "{indicator} · {place} · {year}"),
    "ov_change": ("So với {year}", "Compared with {year}"),
    "ov_change_up": ("tăng {x} điểm %", "up {x} points"),
    "ov_change_down": ("giảm {x} điểm %", "down {x} points"),
    "ov_change_same": ("không đổi", "unchanged"),
    "ov_no_prev": ("Không có số liệu năm trước để so sánh.", "No previous year to compare with."),
    "ov_prev_break": ("Năm trước dùng phương pháp khác; mức thay đổi chỉ mang tính tham khảo.",
                      "The previous year used another method; the change is indicative only."),
    "ov_elements": ("Các yếu tố", "Elements"),
    "ov_elements_title": ("Chỉ số thành phần", "Elements of the index"),
    "ov_best": ("Cao nhất", "Highest"),
    "ov_worst": ("Thấp nhất", "Lowest"),
    "ov_best_worst": ("{level} cao nhất và thấp nhất", "Highest and lowest {level}"),
    "ov_national": ("Bình quân toàn quốc {year} (Bộ Nội vụ công bố): {value}",
                    "National average {year} (published by the Ministry of Home Affairs): {value}"),
    "ov_aspects": ("Khía cạnh (từ 2022)", "Aspects (from 2022)"),
    "ov_ranking_title": ("{indicator} của các {level}", "{indicator} of the {level}"),
    # Map
    "map_title": ("{indicator} theo {level}", "{indicator} by {level}"),
    "map_click": ("Bấm vào một đơn vị trên bản đồ để xem cấp dưới.", "Click a unit on the map to drill down."),
    "map_table": ("Bảng số liệu (cùng lựa chọn với bản đồ)", "Table (same selection as the map)"),
    "breadcrumb": ("Vị trí", "You are here"),
    "map_no_units": ("Không có đơn vị nào để hiển thị ở cấp này.", "No units to show at this level."),
    "open_profile": ("Xem hồ sơ {name}", "Open the profile of {name}"),
    "up_to": ("↑ {name}", "↑ {name}"),
    # Services
    "sv_title": ("Chỉ số theo dịch vụ", "Index by service"),
    "sv_heat_title": ("Tiêu chí của dịch vụ “{service}”", "Criteria of the service “{service}”"),
    "sv_trend_title": ("Chỉ số theo dịch vụ qua các năm", "Index by service over the years"),
    "sv_weakest": ("Tiêu chí thấp nhất", "Weakest criteria"),
    "sv_lowest_units": ("{level} thấp nhất với dịch vụ “{service}”", "Lowest {level} for “{service}”"),
    "sv_pick": ("Chọn dịch vụ ở bộ lọc bên trái để xem tiêu chí.",
                "Pick a service in the filters to see its criteria."),
    "criterion": ("Tiêu chí", "Criterion"),
    "sv_form": ("Xem dạng", "Show as"),
    "sv_form_chart": ("Biểu đồ", "Chart"),
    "sv_form_table": ("Bảng", "Table"),
    "sv_table_note": ("Mỗi hàng một địa bàn (thấp nhất trước), mỗi cột một tiêu chí; màu theo thang cố định "
                      "{lo}–{hi}%; –: không công bố (dưới {threshold} câu trả lời, hoặc để không suy ra được ô "
                      "khác) hoặc không có dữ liệu.",
                      "One row per area (lowest first), one column per criterion; colours on the fixed "
                      "{lo}–{hi}% scale; –: withheld (fewer than {threshold} answers, or so that another cell "
                      "cannot be worked out) or no data."),
    "service": ("Dịch vụ", "Service"),
    # Compare
    "cmp_title": ("So sánh địa bàn", "Compare areas"),
    "cmp_pick": ("Chọn 2–5 địa bàn", "Choose 2–5 areas"),
    "cmp_need_two": ("Chọn ít nhất hai địa bàn để so sánh.", "Choose at least two areas to compare."),
    "cmp_elements_title": ("Chỉ số thành phần: so sánh", "Elements compared"),
    "cmp_trend_title": ("{indicator} qua các năm", "{indicator} over the years"),
    "cmp_rank_title": ("Hạng và khoảng tin cậy", "Rank and interval"),
    "cmp_criteria_pull": ("Tiêu chí kéo chỉ số của {name} xuống", "Criteria pulling {name} down"),
    # Locality
    "loc_search": ("Tìm xã, phường, huyện (có dấu hoặc không dấu)", "Search a commune or district (accents optional)"),
    "loc_results": ("Kết quả tìm kiếm", "Search results"),
    "loc_none": ("Không tìm thấy địa bàn có dữ liệu cho “{q}”.", "No area with data matches “{q}”."),
    "loc_headline": ("{indicator} năm {year}", "{indicator} in {year}"),
    "loc_rank": ("hạng {rank}/{total} {level} của {parent}", "ranked {rank} of {total} {level} in {parent}"),
    "loc_rank_none": ("không xếp hạng (không công bố)", "not ranked (withheld)"),
    "loc_sure": ("Dựa trên {n} câu trả lời; khoảng tin cậy 95%: {lo}–{hi}.",
                 "Based on {n} answers; 95% interval: {lo}–{hi}."),
    "loc_elements_title": ("Các yếu tố của {name}", "Elements for {name}"),
    "loc_services": ("Các dịch vụ giải quyết tại đây", "Services handled here"),
    # the short headings of a table on a phone, and the line above it that says what they are
    "tbl_value": ("%", "%"),
    "tbl_value_key": ("%: {indicator}", "%: {indicator}"),
    "tbl_value_item_key": ("%: tỷ lệ câu trả lời hài lòng hoặc rất hài lòng",
                           "%: share of answers satisfied or very satisfied"),
    "tbl_ci_key": ("KTC 95%: khoảng tin cậy 95%", "95% CI: 95% interval"),
    "tbl_n_forms_key": ("n: số phiếu", "n: forms"),
    "tbl_n_answers_key": ("n: số câu trả lời hợp lệ", "n: valid answers"),
    "tbl_rank_key": ("Hạng: trong các {level} của {parent} (1 = cao nhất)",
                     "Rank: among the {level} in {parent} (1 = highest)"),
    "tbl_rank_key_same": ("Hạng: trong các {level} cùng đơn vị cấp trên (1 = cao nhất)",
                          "Rank: among the {level} under the same parent (1 = highest)"),
    "loc_expect": ("Người dân mong muốn cải thiện nhất", "What people most want improved"),
    "loc_expect_title": ("Mong đợi cải thiện ({name})", "Wanted improvements ({name})"),
    "loc_trend_title": ("{indicator} của {name} qua các năm", "{indicator} of {name} over the years"),
    # place search that forgives typing mistakes (pages/locality.py)
    "loc_did_you_mean": ("Có phải bạn tìm:", "Did you mean:"),
    "loc_none_near": ("Không tìm thấy địa bàn có dữ liệu cho “{q}”, kể cả tên gần giống. Thử bớt một từ "
                      "hoặc gõ tên không dấu.",
                      "No area with data matches “{q}”, nor any name close to it. Try fewer words, or the "
                      "name without accents."),
    "loc_pick_hint": ("Nhập tên địa bàn để bắt đầu, ví dụ “hong ngu”.", "Type a place name to start, e.g. “hong ngu”."),
    "loc_no_data_year": ("{name} không có số liệu năm {year}.", "{name} has no data for {year}."),
    # Methodology
    "me_title": ("Phương pháp & dữ liệu", "Methodology & data"),
    "me_release": ("Bản phát hành", "Release"),
    "me_schemes": ("Phương pháp đo", "Methods"),
    "me_formulas": ("Công thức áp dụng", "Formulas used"),
    "me_interval": ("Khoảng tin cậy", "Intervals"),
    "me_samples": ("Cỡ mẫu", "Sample sizes"),
    "me_sources": ("Nguồn dữ liệu", "Sources"),
    "me_breaks": ("Thay đổi phương pháp và địa giới", "Method and boundary changes"),
    "me_downloads": ("Tải dữ liệu", "Downloads"),
    "me_view_csv": ("Tải CSV của khung nhìn hiện tại", "Download CSV of the current view"),
    "me_view_xlsx": ("Tải XLSX của khung nhìn hiện tại", "Download XLSX of the current view"),
    "me_full": ("Tải toàn bộ bản phát hành (Parquet)", "Download the full release (Parquet)"),
    "me_elements_table": ("Yếu tố và tiêu chí", "Elements and criteria"),
    "me_threshold": ("Ô có ít hơn {t} câu trả lời hợp lệ không được công bố (không đủ mẫu).",
                     "Cells with fewer than {t} valid answers are withheld (too few answers)."),
    "me_secondary": ("Để không ai suy ra được một ô bị ẩn từ các ô khác (chẳng hạn lấy tổng trừ các nhóm còn "
                     "lại), trong mỗi tập ô cộng lại thành một tổng (các nhóm của một phân tổ, các đơn vị con "
                     "của một đơn vị, các dịch vụ của một đơn vị, đơn vị mới và các đơn vị cũ hợp thành nó, "
                     "chỉ số tổng hợp và các thành phần) ô nhỏ nhất kế tiếp cũng được ẩn, sao cho không ô ẩn "
                     "nào đứng một mình và các ô ẩn cộng lại có ít nhất {t} câu trả lời. Phần của tổng không "
                     "thuộc nhóm nào (chẳng hạn phiếu không ghi giới tính) được tính như một ô ẩn.",
                     "So that no withheld cell can be worked out from the others (say, a total minus the other "
                     "groups), in every set of cells that add up to a total (the groups of a breakdown, the "
                     "units within a unit, the services of a unit, a new unit and the old units it was formed "
                     "from, a composite index and its parts) the next-smallest cell is withheld too, so that no "
                     "withheld cell stands alone and the withheld cells together hold at least {t} answers. "
                     "What a total holds beyond its groups (say, forms with no gender) counts as a withheld cell."),
    "me_withheld": ("Ô không công bố không có giá trị, khoảng tin cậy, thứ hạng hay n. Với khảo sát có trọng "
                    "số, ô mà một phiếu chiếm hơn {share} tổng trọng số cũng không được công bố.",
                    "A withheld cell has no value, interval, rank or n. In a weighted survey, a cell where one "
                    "form carries more than {share} of the weight is withheld too."),
    "rule_item": ("Chỉ số tiêu chí = 100 × (số trả lời {sat}) / (số trả lời hợp lệ {valid}).",
                  "Criterion index = 100 × (answers {sat}) / (valid answers {valid})."),
    "rule_element": ("Chỉ số yếu tố = trung bình cộng các chỉ số tiêu chí.",
                     "Element index = mean of its criterion indices."),
    "rule_aspect": ("Chỉ số khía cạnh = trung bình cộng các chỉ số yếu tố.",
                    "Aspect index = mean of its element indices."),
    "rule_sipas_mean_of_elements": ("SIPAS = trung bình cộng các chỉ số yếu tố.",
                                    "SIPAS = mean of the element indices."),
    "rule_sipas_mean_of_aspects": ("SIPAS = trung bình cộng hai khía cạnh (chính sách và dịch vụ).",
                                   "SIPAS = mean of the two aspects (policy and services)."),
    "rule_expectation_ticked_share": ("Mong đợi = 100 × số người đánh dấu / số người trả lời.",
                                      "Expectation = 100 × respondents ticking it / respondents."),
    "rule_expectation_high_levels_share": ("Mong đợi = 100 × (Rất nhiều + Nhiều) / số trả lời hợp lệ.",
                                           "Expectation = 100 × (very much + much) / valid answers."),
    "rule_no_policy": ("Khi khảo sát chỉ gồm dịch vụ: SIPAS = {rule}.",
                       "When a survey covers services only: SIPAS = {rule}."),
    "rule_interval": ("Khoảng tin cậy {level}: tiêu chí theo {item}; chỉ số tổng hợp theo {composite}.",
                      "{level} intervals: criteria by {item}; composites by {composite}."),
    "legal_basis": ("Căn cứ", "Legal basis"),
    "years_range": ("Năm áp dụng", "Years"),
    "me_forms": ("Phiếu đọc: {read}; hợp lệ: {ok}; bị loại: {rej}; ô số liệu: {cells}.",
                 "Forms read: {read}; accepted: {ok}; rejected: {rej}; cells: {cells}."),
    "me_view_label": ("Khung nhìn hiện tại: {desc}", "Current view: {desc}"),
    "me_created": ("Ngày tạo", "Created"),
    "me_publisher": ("Đơn vị công bố", "Publisher"),
    "me_inputs": ("Đầu vào", "Inputs"),
    "break_2022": ("2022: SIPAS chuyển sang phương pháp mới (hộ gia đình chọn ngẫu nhiên; hai khía cạnh chính sách "
                   "và dịch vụ). Chuỗi số liệu bị gián đoạn giữa 2021 và 2022.",
                   "2022: SIPAS moved to a new method (random households; policy and service aspects). "
                   "The series breaks between 2021 and 2022."),
    "break_2025": ("1/7/2025: sắp xếp đơn vị hành chính (34 tỉnh, 3.321 xã, bỏ cấp huyện). Năm 2025 dùng đơn vị mới; "
                   "các năm trước có thể xem ở dạng tính lại trên đơn vị mới, được ghi rõ là tính lại.",
                   "1 July 2025: units reorganised (34 provinces, 3,321 communes, no districts). 2025 uses the new "
                   "units; earlier years can be shown restated on them, labelled as restated."),
    # press, share, embed, presentation
    "press_image": ("Tải ảnh", "Image"),
    "press_image_help": ("Ảnh PNG/SVG cỡ báo chí, có tiêu đề, nguồn và dấu minh họa; ảnh được tạo khi bấm tải.",
                         "Press-size PNG/SVG with title, source and demo mark; made when you click."),
    "press_png_news": ("PNG 1200×675 (tin bài)", "PNG 1200×675 (news)"),
    "press_png_social": ("PNG 1080×1080 (mạng xã hội)", "PNG 1080×1080 (social)"),
    "press_svg_news": ("SVG 1200×675", "SVG 1200×675"),
    "press_svg_social": ("SVG 1080×1080", "SVG 1080×1080"),
    "press_kit": ("Bộ tư liệu báo chí (ZIP)", "Press kit (ZIP)"),
    "press_kit_help": ("Các biểu đồ của trang ở hai cỡ, số liệu CSV/XLSX và đoạn văn số liệu chính để đưa tin.",
                       "The page's charts in both sizes, the data as CSV/XLSX and a key-numbers paragraph."),
    "press_unavailable": ("Chưa tạo được ảnh trên máy chủ này: {reason}",
                          "Images cannot be made on this server: {reason}"),
    "share": ("Chia sẻ", "Share"),
    "share_link": ("Đường dẫn đến đúng khung nhìn này (bấm biểu tượng sao chép)",
                   "Link to exactly this view (use the copy icon)"),
    "share_embed": ("Mã nhúng (iframe) cho cổng thông tin: chỉ biểu đồ, tiêu đề và nguồn",
                    "Embed code (iframe) for portals: only the chart, its title and source"),
    "share_present": ("Chế độ trình chiếu (ẩn bộ lọc, để chụp màn hình)",
                      "Presentation mode (no controls, for screenshots)"),
    "present_exit": ("Thoát chế độ trình chiếu", "Leave presentation mode"),
    "key_numbers": ("Số liệu chính (để dán vào bài viết)", "Key numbers (Vietnamese, to paste into an article)"),
    "embed_open": ("Xem đầy đủ trên trang SIPAS", "Open the full SIPAS dashboard"),
    "embed_none": ("Trang này không có biểu đồ để nhúng.", "This page has no chart to embed."),
    "notice_mode": ("Chế độ hiển thị “{value}” không hợp lệ; đang hiển thị đầy đủ.",
                    "Display mode “{value}” is not valid; showing the full page."),
    "samples_title": ("Cỡ mẫu (n) của chỉ số SIPAS theo năm và cấp", "Sample sizes (n) of SIPAS by year and level"),
    # Methodology page: only the rules the engine applies, every method named in the page's language
    "level_commune_2019": ("Xã/phường/thị trấn", "Commune/ward/township"),
    "levels_commune_2019": ("xã/phường/thị trấn", "communes, wards and townships"),
    "level_commune_2025": ("Xã/phường/đặc khu", "Commune/ward/special zone"),
    "levels_commune_2025": ("xã/phường/đặc khu", "communes, wards and special zones"),
    "me_years_from": ("từ {first}", "from {first}"),
    "me_release_id": ("Mã bản phát hành", "Release id"),
    "me_item_code": ("Mã tiêu chí", "Criterion code"),
    "rule_aspect_of": ("Chỉ số khía cạnh = trung bình cộng các chỉ số yếu tố thuộc khía cạnh đó ({aspects}).",
                       "Aspect index = mean of the element indices of that aspect ({aspects})."),
    "rule_sipas_of_aspects": ("SIPAS = trung bình cộng các chỉ số khía cạnh ({aspects}).",
                              "SIPAS = mean of the aspect indices ({aspects})."),
    "rule_no_policy_services_aspect": ("Khi khảo sát chỉ gồm dịch vụ (không có câu trả lời về chính sách): "
                                       "SIPAS = chỉ số khía cạnh “{services}”.",
                                       "When a survey covers services only (no answers on policies): "
                                       "SIPAS = the index of the aspect “{services}”."),
    "rule_expectation_ticked": ("Mong đợi = 100 × số người đánh dấu lĩnh vực / số người trả lời phần mong đợi.",
                                "Expectation = 100 × respondents ticking the area / respondents answering "
                                "the expectations."),
    "rule_expectation_levels": ("Mong đợi = 100 × (số trả lời {high}) / (số trả lời hợp lệ: {levels}).",
                                "Expectation = 100 × (answers {high}) / (valid answers: {levels})."),
    "rule_perception": ("Nhận định = 100 × số trả lời chọn phương án / số trả lời hợp lệ của câu hỏi.",
                        "Perception = 100 × answers choosing the option / valid answers to the question."),
    "rule_pooled": ("Huyện, tỉnh và toàn quốc được tính gộp từ phiếu của mọi người trả lời trong đơn vị, "
                    "không phải trung bình chỉ số của các đơn vị con.",
                    "Districts, provinces and the country are computed from all their respondents together, "
                    "not as a mean of the indices of the units below."),
    "rule_interval_95": ("Khoảng tin cậy 95%: chỉ số tiêu chí và các tỷ lệ khác theo {item}; chỉ số tổng hợp "
                         "(yếu tố, khía cạnh, SIPAS) theo {composite}.",
                         "95% intervals: criterion indices and other shares by {item}; composite indices "
                         "(elements, aspects, SIPAS) by {composite}."),
    "method_wilson": ("phương pháp Wilson", "the Wilson score method"),
    "method_linearised_respondent_scores": ("phương pháp tuyến tính hóa trên điểm của từng người trả lời",
                                            "linearisation over each respondent's scores"),
    "me_interval_text": ("Chỉ số tiêu chí và các tỷ lệ khác (mong đợi, nhận định) có khoảng tin cậy Wilson 95%. "
                         "Với chỉ số tổng hợp, mỗi người trả lời có một điểm yếu tố: tỷ lệ câu trả lời hài lòng "
                         "trong số câu trả lời hợp lệ của họ thuộc yếu tố đó; điểm khía cạnh và điểm SIPAS của "
                         "họ theo đúng quy tắc của chỉ số công bố. Sai số chuẩn của chỉ số là sai số chuẩn của "
                         "trung bình (có trọng số) các điểm đó. Khi mọi người trả lời đủ các tiêu chí, đây đúng "
                         "là phương sai tuyến tính hóa của chỉ số công bố; khi có câu bỏ trống, đây là xấp xỉ "
                         "gần đúng thông dụng.",
                         "Criterion indices and other shares (expectations, perceptions) have 95% Wilson "
                         "intervals. For composite indices, each respondent has an element score: the share of "
                         "their valid answers in the element that are satisfied; their aspect and SIPAS scores "
                         "follow the same rule as the published index. The standard error of the index is that "
                         "of the (weighted) mean of those scores. When every respondent answers every item this "
                         "is exactly the linearised variance of the published index; with missing answers it is "
                         "the usual close approximation."),
    "me_samples_units": ("Số đơn vị", "Units"),
    "me_samples_n": ("Tổng n các ô được công bố", "Total n of published cells"),
    "me_samples_n_min": ("n nhỏ nhất", "Smallest n"),
    "me_samples_withheld": ("Số ô không công bố", "Withheld cells"),
    "me_samples_note": ("n của chỉ số SIPAS là số người trả lời có điểm SIPAS. Cột tổng chỉ cộng n của các ô được "
                        "công bố ở cấp đó: ô không công bố không có n, nên tổng có thể nhỏ hơn số phiếu.",
                        "The n of the SIPAS index is the number of respondents with a SIPAS score. The total "
                        "adds up the n of the published cells at that level only: a withheld cell has no n, so "
                        "the total can be below the number of forms."),
    "me_level": ("Cấp", "Level"),
    "me_input_rows": ("{file} · {rows} dòng", "{file} · {rows} rows"),
    "me_input_generated": ("Phiếu minh họa do chương trình tạo ra (hạt giống {seed}) · {rows} phiếu",
                           "Demo forms generated by the program (seed {seed}) · {rows} forms"),
    "me_official_source": ("Số liệu chính thức: {note}", "Official figures: {note}"),
    "me_full_help": ("Bảng đầy đủ để phân tích: mã gốc, đủ chữ số, thêm cột vintage (bộ đơn vị hành chính "
                     "của năm).",
                     "The full table for analysis: the original ids at full precision, plus a vintage column "
                     "(the set of administrative units of the year)."),
    # Downloads of a view: headers, labels and provenance in the viewer's language
    "dl_indicator": ("Chỉ số", "Indicator"),
    "dl_area": ("Khu vực đang xem", "Area shown"),
    "dl_parent": ("Mã đơn vị cấp trên", "Parent unit code"),
    "dl_value": ("Giá trị (%)", "Value (%)"),
    "dl_ci_low": ("KTC 95%: cận dưới", "95% interval: lower"),
    "dl_ci_high": ("KTC 95%: cận trên", "95% interval: upper"),
    "dl_n": ("n (số trả lời hợp lệ)", "n (valid answers)"),
    "dl_rank": ("Hạng", "Rank"),
    "dl_total": ("Số đơn vị được xếp hạng", "Units ranked"),
    "dl_basis": ("Cách tính", "Basis"),
    "dl_basis_pooled": ("tính gộp từ người trả lời", "pooled from respondents"),
    "dl_basis_published": ("số liệu công bố", "as published"),
    "dl_basis_mean_of_units": ("trung bình các đơn vị", "mean of the units"),
    "dl_value_full": ("Giá trị (%), đủ chữ số", "Value (%), full precision"),
    "dl_demo_warning": ("DỮ LIỆU MINH HỌA: số liệu do chương trình tạo ra, không phải kết quả khảo sát thật.",
                        "DEMO DATA: generated by the program, not the results of a real survey."),
    "dl_rounding": ("Giá trị và khoảng tin cậy làm tròn {digits} chữ số thập phân như trên trang; cột “{full}” "
                    "giữ đủ chữ số.",
                    "Values and intervals are rounded to {digits} decimals as on the page; the column "
                    "“{full}” keeps full precision."),
    "dl_title": ("{app} · {page}", "{app} · {page}"),
    "dl_vintage": ("Bộ đơn vị hành chính", "Unit vintage"),
    # The interactive map (pydeck): archipelagos, tap-to-select card, place search
    "archipelago_hoang_sa": ("Quần đảo Hoàng Sa (Đà Nẵng)", "Hoàng Sa archipelago (Đà Nẵng)"),
    "archipelago_truong_sa": ("Quần đảo Trường Sa (Khánh Hòa)", "Trường Sa archipelago (Khánh Hòa)"),
    "map_tap": ("Chạm hoặc bấm vào một đơn vị để xem số liệu của đơn vị đó; dùng nút bên dưới để xem cấp dưới.",
                "Tap or click a unit to see its figures; use the buttons below to go to the level below."),
    "map_drill": ("Xem {level} của {name}", "See the {level} of {name}"),
    "map_find": ("Tìm một địa phương trên bản đồ", "Find a place on the map"),
    "map_find_none": ("Không tìm thấy “{q}” trong năm {year}.", "No place matching “{q}” in {year}."),
    "map_card_rank": ("Hạng", "Rank"),
    "map_legend": ("Thang màu cố định: {lo}–{hi}%. Xám: không công bố. Xám nhạt: không có dữ liệu.",
                   "Fixed colour scale: {lo}–{hi}%. Grey: withheld. Light grey: no data."),
    # Charts: a press image with more bars than it can name legibly
    "press_rows_unlabelled": ("{n} đơn vị, xếp như trên trang; tên và giá trị trong bảng số liệu. "
                              "Hàng xám: không công bố.",
                              "{n} units, in the page's order; names and values are in the data table. "
                              "Grey rows: withheld."),
}


def t(key: str, lang: str = "vi", **kw) -> str:
    vi, en = S[key]
    text = en if lang == "en" else vi
    return text.format(**kw) if kw else text


def level_label(level: str, lang: str = "vi", plural: bool = False, year: int | None = None) -> str:
    """A level's name; with ``year``, the name its units had in that year's vintage (2024:
    xã/phường/thị trấn; 2025: xã/phường/đặc khu), where the table has one."""
    key = ("levels_" if plural and level != "country" else "level_") + level
    if year is not None:
        from sipas_data.calendar import CalendarError, vintage_for_year
        try:
            vintage = vintage_for_year(int(year))
        except (CalendarError, ValueError, TypeError):
            vintage = None
        if vintage and f"{key}_{vintage}" in S:
            key = f"{key}_{vintage}"
    return t(key, lang)
