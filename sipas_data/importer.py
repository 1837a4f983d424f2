"""Import survey forms (CSV or XLSX) into the canonical *responses* frame.

Every row read is either accepted or rejected with a reason naming the row, the column and what
was expected; ``len(accepted) + len(rejects) + duplicates_ignored == rows_read`` always.

Reading
-------
* CSV in UTF-8, UTF-8 with BOM or UTF-16 (LE/BE, with or without BOM, as Excel's "Unicode text"
  writes it); the delimiter (comma, semicolon or tab) is the one found most often in the header
  line. Other encodings are refused with a plain message ("save as CSV UTF-8"). A UTF-8 CSV is
  parsed by Arrow with dictionary-encoded columns, so each rule parses each distinct text once; a
  file Arrow would read differently from pandas' parser (a short row, a quote left open, UTF-16)
  is parsed by pandas: the cells, rows and messages are the same either way.
* XLSX/XLSM via python-calamine, by the cells that hold a value (never the stored dimension, which
  a tool may write too small): the sheet named "Phiếu" or "forms" if there is one, else the first.
  A sheet far larger than its cells (a stray cell at XFD1048576) or too large to be forms is
  refused with its extent named, before any memory is spent on it.
* Every cell is read as text, so codes keep their leading zeros; numeric cells from a spreadsheet
  are written back as the number a person sees (87, not 87.0); TRUE/FALSE as those words (a tick,
  not the answer 1). Codes that lost their zeros are left-padded to the width in
  :data:`schema.CODE_WIDTH` (87 -> "87", 1 -> "01", 868 -> "868").
* A cell of a used column holding a formula without a saved value, or an error value (#N/A),
  rejects its row (it is not an empty answer); so does a hidden row (hidden by hand or by a
  filter), which the rejects file then holds, visible, to fix or import as is.
* Row numbers are those a spreadsheet user sees: the header is row 1, the first form row 2.
  Completely blank rows are not forms: they are skipped and not counted in ``rows_read``.

Headers
-------
Canonical names (``form_id``, ``access_1`` ...) and the Vietnamese headers a clerk types are
accepted, case-, accent-, space- and punctuation-insensitively (:data:`BASE_ALIASES`). Answer
columns follow a rule: ``<element label, element id or abbreviation> <n>`` -> ``<element>_<n>``
("Tiếp cận 1", "TC1", "access 1" -> ``access_1``; :data:`ELEMENT_ALIASES`); "Mong đợi 3" /
"Kỳ vọng 3" -> ``expect_3`` (for a scheme whose options are not numbered, such as sipas-2017,
``expect_<n>`` means its n-th option); "Nhận định 2" -> the 2nd perception question; a
perception question's Vietnamese label is accepted as its header. Headers that mean nothing here
are ignored and listed in :meth:`ImportResult.summary` ("columns not used: ..."). The columns
``row``, ``file`` and ``errors`` (written by :func:`write_rejects`) are ignored silently so a fixed
rejects file can be imported again. Two headers meaning the same column (also one header typed
twice), missing required columns, unreadable or empty files and unknown extensions raise
:class:`ImportFileError`.

Decisions (the rules a row is checked against)
----------------------------------------------
* ``scheme`` may be absent or blank: it is then the scheme in force for the row's year
  (:func:`methodology.scheme_for_year`). A scheme that is given must be that one.
* ``district_code`` is required in a year whose units have districts (:mod:`sipas_data.calendar`:
  up to 2024) and must be empty in the others (from 2025). ``commune_code`` is
  required for a commune-level agency and must be empty for a district-level one.
* ``agency_level`` blank -> the service's level in the scheme, except in a year without districts
  where it is ``commune``; "district" given for such a year is rejected. A given level need not equal
  the service's usual level (a province may survey a service elsewhere).
* Form ids are unique within a survey year (the same id in another year is another form). Duplicate
  checks run on rows that passed every other check. A form whose (year, form_id) was accepted from
  an *earlier file* with identical canonical content is counted in ``duplicates_ignored`` (already
  imported); with different content it is rejected "form_id: duplicate of row N of <file>
  (different answers)". Within one file the first row is accepted and later ones are rejected,
  also when they are identical ("... (the same form entered twice)"): a clerk typed it twice.
* Answers: 1..5 (the scheme's ``valid_answers``). Empty, 0, "không trả lời"/"KTL" and several
  boxes ticked ("4,5", "4;5", "4 5": every part on the scale) are stored as null, not rejected.
  Any other number or text is rejected (TRUE too). A spreadsheet's "4.0" is 4, and so is "4,0"
  (a decimal comma); "4,50" is 4.5, outside the scale.
* An answer column for an item not asked in the row's year/scheme (e.g. ``access_4`` in 2024) is
  ignored; how many values were ignored is listed in the summary. Nothing is rejected for it.
* A row with no valid answer at all is accepted (it contributes n = 0 everywhere).
* Expectations: sipas-2017 (multi-select) 1/x/✓/có/yes -> 1, 0/không/no -> 0, empty -> null;
  sipas-2022 (rated) 1..3 or the level's label (Rất nhiều/Nhiều/Ít), empty/0/KTL/several ticked
  -> null, anything else rejected. Perceptions: an option's code, id or label -> its integer code.
* Profile answers: the option id, its numeric code or its Vietnamese/English label -> the id.
* ``weight`` blank -> 1.0; otherwise a finite number > 0 (decimal comma accepted) between
  :data:`MIN_WEIGHT` and :data:`MAX_WEIGHT`, and within a factor :data:`MAX_WEIGHT_RATIO` of the
  median weight of its file (blank weights count as 1). A weight outside is rejected as a typing
  or unit mistake: one such form would outweigh all the others, and weights near the float limit
  overflow the sums the indices are computed from.
* ``collected_on``: yyyy-mm-dd or dd/mm/yyyy (also with - or .), or a spreadsheet date; stored as
  an ISO date string. It must fall in the survey year or its late returns (to 30 June of the
  next year; :data:`sipas_data.forms.rules.LATE_RETURNS_UNTIL`), and not after today.

Stored dtypes: strings are pandas ``"string"`` (missing = ``<NA>``; empty district/commune codes
are ``<NA>``), ``year`` ``"Int16"``, answers/expectations/perceptions ``"Int8"``, ``weight``
float64. The accepted frame has ``schema.response_columns`` of every built-in scheme, in that order,
sorted by (year, form_id).

The stages that apply these rules are in :mod:`sipas_data.forms`; this module is the public entry.
"""
from __future__ import annotations

from .forms import ImportFileError, ImportResult, read_forms
from .forms.headers import BASE_ALIASES, ELEMENT_ALIASES, canonical_header
from .forms.parsers import MAX_WEIGHT, MAX_WEIGHT_RATIO, MIN_WEIGHT
from .forms.read import csv_parser_message
from .forms.result import default_rejects_path, write_csv_atomic, write_rejects

__all__ = [
    "ImportFileError", "ImportResult", "read_forms", "write_rejects", "write_csv_atomic",
    "default_rejects_path", "csv_parser_message",
    "BASE_ALIASES", "ELEMENT_ALIASES", "canonical_header",
    "MIN_WEIGHT", "MAX_WEIGHT", "MAX_WEIGHT_RATIO",
]
