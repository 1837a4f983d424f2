"""Command line: ``python -m sipas_data {validate,build,demo,releases}``.

Exit codes: 0 success; 1 the input had rejected rows (validate) or the build failed on bad
input; 2 the command could not run (unreadable file, bad arguments).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _import_forms(paths):
    from .importer import ImportFileError, read_forms

    try:
        return read_forms([Path(p) for p in paths])
    except ImportFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except FileNotFoundError as exc:
        print(f"error: no such file: {exc.filename}", file=sys.stderr)
        raise SystemExit(2) from None


def _import_and_report(paths, rejects_arg, show: int):
    """Import the forms, print the summary and the first rejected rows, and write every rejected
    row (with its reasons) to a file the user can fix and import again."""
    from .importer import default_rejects_path, write_rejects

    result = _import_forms(paths)
    print(result.summary())
    if not result.ok:
        rejects = Path(rejects_arg) if rejects_arg else default_rejects_path(paths[0])
        write_rejects(result, rejects)
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
    from .official import OfficialFileError, read_official

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
        except (OfficialFileError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(off.summary())
        if not off.ok:
            for row in off.rejects.itertuples():
                print(f"  {off.file} row {row.row}: {row.errors}")
            if args.strict:
                return 1
        official_rows.append(off.rows)
        inputs.append({"file": off.file, "sha256": off.sha256, "rows": off.rows_read})
    if result.accepted.empty and not any(len(o) for o in official_rows):
        print("error: nothing to publish: no accepted forms and no official figures", file=sys.stderr)
        return 1
    out = Path(args.out)
    path = build_release(
        result.accepted, out, official=official_rows, title=args.title or out.name,
        publisher=args.publisher, inputs=inputs, threshold=args.threshold,
        counts={"forms_read": result.rows_read, "forms_accepted": len(result.accepted),
                "forms_rejected": len(result.rejects), "duplicates_ignored": result.duplicates_ignored,
                "official_rows": sum(len(o) for o in official_rows)})
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
        print(f"{r.id}{demo}\n  {m.get('title', '')}\n  publisher: {m.get('publisher', '')}; created {m.get('created', '')}"
              f"\n  years {', '.join(map(str, m.get('years', [])))}; methods {', '.join(m.get('methodologies', []))}"
              f"\n  forms accepted {c.get('forms_accepted', 0)} of {c.get('forms_read', 0)}; "
              f"official rows {c.get('official_rows', 0)}; cells {c.get('cells', 0)}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sipas_data",
                                     description="Turn SIPAS survey forms into a published release of indices.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check forms (CSV or XLSX); exit 0 when every row is valid, 1 otherwise")
    p.add_argument("forms", nargs="+", help="forms file(s): .csv (UTF-8 or UTF-16) or .xlsx")
    p.add_argument("--rejects", help="where to write rejected rows (default: <file>.rejects.csv beside the input)")
    p.add_argument("--show", type=int, default=20, help="how many rejected rows to print (default 20)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("build", help="build a release from forms and official figures")
    p.add_argument("--responses", nargs="+", required=True, help="forms file(s)")
    p.add_argument("--official", nargs="*", help="CSV of published figures: year, level, unit_code, indicator, value, source")
    p.add_argument("--out", required=True, help="release folder, e.g. releases/2024-dong-thap")
    p.add_argument("--title", help="release title shown in the app (default: the folder name)")
    p.add_argument("--publisher", default="", help="who publishes the release (shown in every chart's source line)")
    p.add_argument("--threshold", type=int, help="suppress cells with fewer valid answers than this (default: the scheme's rule, 30)")
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
