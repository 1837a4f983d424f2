"""Command line: ``python -m geo {install,search,layers,units} ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _parser(prog: str = "python -m geo") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Vietnam's administrative units (2019 and 2025 vintages), installable "
                    "boundaries and tile maps for the SIPAS dashboard.")
    sub = p.add_subparsers(dest="command", required=True)

    i = sub.add_parser(
        "install", help="install a boundary file (GeoJSON, Shapefile, GeoPackage)",
        description="Read a boundary file, attach registry codes (from a code column, or by "
                    "names within their parents), reproject to WGS 84, repair geometry, report "
                    "missing and extra units, and store normalised and web-ready layers under "
                    "$SIPAS_GEO_DATA (default: geo_data/ in the repository). Installing the same "
                    "vintage and level again replaces the provinces in the new file and keeps "
                    "the others. Exit status 0 when installed, 1 on errors.")
    i.add_argument("file", type=Path, help="the boundary file")
    i.add_argument("--vintage", required=True, choices=["2019", "2025"],
                   help="2019: units before 1 July 2025; 2025: units from 1 July 2025")
    i.add_argument("--level", required=True, choices=["province", "district", "commune"],
                   help="administrative level of the features")
    i.add_argument("--code-column", default=None,
                   help="column holding the official codes (default: detected)")
    i.add_argument("--dest", type=Path, default=None,
                   help="data directory (default: $SIPAS_GEO_DATA or geo_data/)")

    s = sub.add_parser("search", help="find units by name",
                       description='Accent- and case-insensitive search, e.g. "hong ngu", '
                                   '"TP Hồng Ngự", "Tân Hội, Hồng Ngự".')
    s.add_argument("query")
    s.add_argument("--vintage", default="2019", choices=["2019", "2025"])
    s.add_argument("--limit", type=int, default=10)

    sub.add_parser("layers", help="list installed boundary layers")

    u = sub.add_parser("units", help="list units of a vintage",
                       description="List units as tab-separated values: code, level, type, name, "
                                   "parent.")
    u.add_argument("--vintage", default="2019", choices=["2019", "2025"])
    u.add_argument("--parent", default=None,
                   help='only the children of this code ("VN" for the provinces)')
    u.add_argument("--level", default=None, choices=["province", "district", "commune"])
    return p


def main(argv=None, prog: str = "python -m geo") -> int:
    """Run one command; ``prog`` is how the user called it, for usage and --help."""
    args = _parser(prog).parse_args(argv)
    if args.command == "install":
        from .boundaries import install

        try:
            report = install(args.file, args.vintage, args.level, code_column=args.code_column,
                             dest=args.dest)
        except OSError as exc:  # a folder that cannot be written, a full disk: nothing was replaced
            where = f" ({exc.filename})" if exc.filename else ""
            print(f"error: could not install the boundaries{where}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(report.text())
        return 0 if report.ok else 1
    if args.command == "search":
        from .registry import search

        r = search(args.query, args.vintage, limit=args.limit)
        if r.empty:
            print("no match")
            return 1
        for row in r.itertuples(index=False):
            print(f"{row.code}\t{row.level}\t{row.score:g}\t{row.label}")
        return 0
    if args.command == "layers":
        from .boundaries import data_dir, installed_layers

        layers = installed_layers()
        if not layers:
            print(f"no boundaries installed in {data_dir()}")
            return 0
        for layer in layers:
            provs = layer["provinces"]
            shown = ", ".join(provs[:10]) + (f", … ({len(provs)} provinces)" if len(provs) > 10 else "")
            print(f"{layer['vintage']}\t{layer['level']}\t{layer['features']} features\tprovinces: {shown}")
        return 0
    if args.command == "units":
        from .registry import children, units

        df = children(args.parent, args.vintage) if args.parent else units(args.vintage)
        if args.level:
            df = df[df["level"] == args.level]
        for row in df.itertuples(index=False):
            print(f"{row.code}\t{row.level}\t{row.type}\t{row.name}\t{row.parent_code}")
        return 0
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
