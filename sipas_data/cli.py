"""The ``sipas`` command: one entry point for the publishing verbs and the geography verbs.

``sipas validate | build | demo | releases`` run ``python -m sipas_data ...`` and
``sipas geo install | layers | search | units`` run ``python -m geo ...``, with the same
arguments, output and exit codes (0 success, 1 the input had errors, 2 the command could not
run). ``pip install -e .`` installs the command (``[project.scripts]`` in pyproject.toml); the
``python -m`` forms keep working without it.
"""
from __future__ import annotations

import sys

from sipas_data import __main__ as data_cli

# command -> one line of help; the commands' own --help has the details
DATA_COMMANDS = {
    "validate": "check forms (CSV or XLSX); exit 0 when every row is valid, 1 otherwise",
    "build": "build a release from forms and official figures",
    "demo": "(re)build the built-in demo release",
    "releases": "list releases with their manifests",
}
GEO_COMMANDS = {
    "install": "install a boundary file (GeoJSON, Shapefile, GeoPackage)",
    "layers": "list installed boundary layers",
    "search": "find units by name",
    "units": "list units of a vintage",
}


def usage() -> str:
    lines = ["usage: sipas <command> [arguments]   (sipas <command> --help for its arguments)", "",
             "Turn SIPAS survey forms into published releases, and manage the geography they are drawn on.",
             "", "releases:"]
    lines += [f"  {name:<16}{text}" for name, text in DATA_COMMANDS.items()]
    lines += ["", "geography:"]
    lines += [f"  geo {name:<12}{text}" for name, text in GEO_COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run one ``sipas`` command; returns its exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(usage(), file=sys.stderr)
        return 2
    command, rest = args[0], args[1:]
    if command in ("-h", "--help", "help"):
        print(usage())
        return 0
    if command in DATA_COMMANDS:
        return data_cli.main(args, prog="sipas")
    if command == "geo":
        # imported here, as sipas_data imports geo everywhere: importing geo imports pandas
        # (geo.registry), which --help does not need
        from geo import __main__ as geo_cli

        return geo_cli.main(rest, prog="sipas geo")
    print(f"{usage()}\n\nerror: unknown command '{command}' (choose from {', '.join(DATA_COMMANDS)}, geo)",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
