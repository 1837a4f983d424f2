"""Command line: ``python -m sipas_data {validate,build,demo,releases}``.

Exit codes: 0 success; 1 the input had rejected rows (validate) or the build failed on bad
input; 2 the command could not run (unreadable or empty file, a folder given as a file, bad
arguments, a release id with characters not allowed, a release or rejects file that could not be
written). Every such case prints one plain "error: ..." paragraph on stderr, not a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Arrow's own allocator (mimalloc) keeps memory it has freed for reuse: in a 1M-form build the
# process peaked at 1.51-1.60 GB with it and at 1.29-1.35 GB with the C library's allocator, at
# the same speed (interleaved runs of the same build). Read by Arrow when it first loads, so set
# before anything imports pyarrow; an ARROW_DEFAULT_MEMORY_POOL the user set is kept.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

# The smallest --threshold accepted: no cell is published from fewer than 10 valid answers (as
# England's GP Patient Survey, which publishes nothing below 10). A lower threshold would print
# figures that single out a handful of respondents; the scheme's own rule (30) is the default.
MIN_THRESHOLD = 10


def _threshold(text: str) -> int:
    """argparse type of --threshold: a whole number of at least MIN_THRESHOLD."""
    expected = f"expected a whole number of at least {MIN_THRESHOLD}"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number ({expected})") from None
    if value < MIN_THRESHOLD:
        raise argparse.ArgumentTypeError(
            f"{value} is too low: no cell is published from fewer than {MIN_THRESHOLD} valid "
            f"answers ({expected}; default: the scheme's rule, 30)")
    return value


def _fail(message: str) -> SystemExit:
    print(f"error: {message}", file=sys.stderr)
    return SystemExit(2)


def _write_rejects_file(write, path: Path, what: str) -> None:
    """Write a rejects file; a full disk or a folder in the way ends the command with exit 2."""
    try:
        write(path)
    except OSError as exc:
        raise _fail(f"could not write the rejected {what} to {path}: {exc.strerror or exc}") from None


def _import_forms(paths):
    from .importer import ImportFileError, read_forms

    try:
        return read_forms([Path(p) for p in paths])
    except ImportFileError as exc:
        raise _fail(str(exc)) from None
    except FileNotFoundError as exc:
        raise _fail(f"no such file: {exc.filename}") from None
    except OSError as exc:
        raise _fail(f"{exc.filename or 'a forms file'}: cannot be read ({exc.strerror or exc})") from None


def _import_and_report(paths, rejects_arg, show: int):
    """Import the forms, print the summary and the first rejected rows, and write every rejected
    row (with its reasons) to a file the user can fix and import again."""
    from .importer import default_rejects_path, write_rejects

    result = _import_forms(paths)
    print(result.summary())
    if not result.ok:
        rejects = Path(rejects_arg) if rejects_arg else default_rejects_path(paths[0])
        _write_rejects_file(lambda p: write_rejects(result, p), rejects, "rows")
        print(f"Rejected rows with their reasons: {rejects}")
        for row in result.rejects.head(show).itertuples():
            where = f"{row.file} " if len(paths) > 1 else ""
            print(f"  {where}row {row.row}: {row.errors}")
    return result


def cmd_validate(args) -> int:
    result = _import_and_report(args.forms, args.rejects, args.show)
    return 0 if result.ok else 1


def cmd_build(args) -> int:
    from .build import build_release
    from .importer import default_rejects_path
    from .official import OfficialFileError, read_official, write_official_rejects
    from .release import ReleaseError, valid_release_id

    out = Path(args.out)
    if not valid_release_id(out.name):
        # checked before the forms are read, so a long import does not end on a bad folder name
        raise _fail(f"--out: the release id '{out.name}' (the folder name) may use only letters "
                    "a-z (no accents), digits, '-', '_' and '.', must not start with '.' and is at "
                    "most 100 characters, e.g. releases/2024-dong-thap")
    result = _import_and_report(args.responses, args.rejects, args.show)
    if not result.ok:
        print("Rejected rows were left out of the release; fix them and build again.")
        if args.strict:
            print("error: --strict: not building a release while rows are rejected", file=sys.stderr)
            return 1
    official_rows, inputs = [], list(result.sources)
    for path in args.official or []:
        try:
            off = read_official(path)
        except OfficialFileError as exc:
            raise _fail(str(exc)) from None
        print(off.summary())
        if not off.ok:
            rejects = default_rejects_path(path)
            _write_rejects_file(lambda p: write_official_rejects(off, p), rejects, "official rows")
            print(f"Rejected official rows with their reasons: {rejects}")
            for row in off.rejects.itertuples():
                print(f"  {off.file} row {row.row}: {row.errors}")
            if args.strict:
                return 1
        official_rows.append(off.rows)
        inputs.append({"file": off.file, "sha256": off.sha256, "rows": off.rows_read})
    if result.accepted.empty and not any(len(o) for o in official_rows):
        print("error: nothing to publish: no accepted forms and no official figures", file=sys.stderr)
        return 1
    counts = {"forms_read": result.rows_read, "forms_accepted": len(result.accepted),
              "forms_rejected": len(result.rejects), "duplicates_ignored": result.duplicates_ignored,
              "official_rows": sum(len(o) for o in official_rows)}
    # The build works on the forms as an Arrow table (on the frame's own buffers). Taken here,
    # nothing else of the import (its rejects, its cells) is held beside it until the release is
    # written.
    forms = result.accepted_table()
    del result
    try:
        path = build_release(
            forms, out, official=official_rows, title=args.title or out.name,
            publisher=args.publisher, inputs=inputs, threshold=args.threshold, counts=counts)
    except ReleaseError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        # a full disk, a read-only folder: the release is written in a temporary folder and
        # moved into place only when whole, so nothing half-written is left under its name
        raise _fail(f"could not write the release: {exc.strerror or exc}") from None
    print(f"Release written: {path}")
    return 0


def cmd_demo(args) -> int:
    from .demo import build_demo

    path = build_demo(args.root)
    print(f"Demo release written: {path}")
    return 0


def cmd_releases(args) -> int:
    from .release import list_releases

    releases = list_releases(args.root)
    if not releases:
        print("No releases yet. Build the demo one with: python -m sipas_data demo")
        return 0
    for r in releases:
        m = r.manifest
        c = m.get("counts", {})
        demo = "  [DEMO]" if m.get("demo") else ""
        print(f"{r.id}{demo}\n  {m.get('title', '')}"
              f"\n  publisher: {m.get('publisher', '')}; created {m.get('created', '')}"
              f"\n  years {', '.join(map(str, m.get('years', [])))}; methods {', '.join(m.get('methodologies', []))}"
              f"\n  forms accepted {c.get('forms_accepted', 0)} of {c.get('forms_read', 0)}; "
              f"official rows {c.get('official_rows', 0)}; cells {c.get('cells', 0)}")
    return 0


def main(argv=None, prog: str = "python -m sipas_data") -> int:
    """Run one command; ``prog`` is how the user called it, for usage and --help."""
    parser = argparse.ArgumentParser(prog=prog,
                                     description="Turn SIPAS survey forms into a published release of indices.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check forms (CSV or XLSX); exit 0 when every row is valid, 1 otherwise")
    p.add_argument("forms", nargs="+", help="forms file(s): .csv (UTF-8 or UTF-16) or .xlsx")
    p.add_argument("--rejects", help="where to write rejected rows (default: <file>.rejects.csv beside the input)")
    p.add_argument("--show", type=int, default=20, help="how many rejected rows to print (default 20)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("build", help="build a release from forms and official figures")
    p.add_argument("--responses", nargs="+", required=True, help="forms file(s)")
    p.add_argument("--official", nargs="*",
                   help="CSV of published figures: year, level, unit_code, indicator, value, source")
    p.add_argument("--out", required=True, help="release folder, e.g. releases/2024-dong-thap")
    p.add_argument("--title", help="release title shown in the app (default: the folder name)")
    p.add_argument("--publisher", default="", help="who publishes the release (shown in every chart's source line)")
    p.add_argument("--threshold", type=_threshold,
                   help=f"suppress cells with fewer valid answers than this, at least {MIN_THRESHOLD} "
                        "(default: the scheme's rule, 30)")
    p.add_argument("--rejects", help="where to write rejected rows")
    p.add_argument("--strict", action="store_true", help="do not build when any row is rejected")
    p.add_argument("--show", type=int, default=20, help="how many rejected rows to print (default 20)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("demo", help="(re)build the built-in demo release (Đồng Tháp, 2018–2025)")
    p.add_argument("--root", help="releases folder (default: $SIPAS_RELEASES or ./releases)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("releases", help="list releases with their manifests")
    p.add_argument("--root", help="releases folder (default: $SIPAS_RELEASES or ./releases)")
    p.set_defaults(func=cmd_releases)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
