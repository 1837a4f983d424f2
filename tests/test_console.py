"""The ``sipas`` command: the dispatcher, and the packaging that installs it."""
import fnmatch
import importlib
import re
import tomllib
from pathlib import Path

import pytest

from sipas_data import cli

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_pyproject_script_points_at_the_dispatcher():
    target = PYPROJECT["project"]["scripts"]["sipas"]
    module, _, attr = target.partition(":")
    assert getattr(importlib.import_module(module), attr) is cli.main


def test_help_lists_every_command(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("validate", "build", "demo", "releases", "geo install", "geo layers", "geo search", "geo units"):
        assert re.search(rf"^\s+{name}\s", out, re.M), name


@pytest.mark.parametrize("argv", [[], ["nope"], ["--threshold"]])
def test_no_or_unknown_command_is_exit_2_with_the_usage(argv, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "usage: sipas" in err
    if argv:
        assert f"unknown command '{argv[0]}'" in err


@pytest.mark.parametrize("argv, module, passed", [
    (["validate", "forms.csv", "--show", "3"], "sipas_data.__main__", ["validate", "forms.csv", "--show", "3"]),
    (["build", "--responses", "f.xlsx", "--out", "r"], "sipas_data.__main__", ["build", "--responses", "f.xlsx",
                                                                               "--out", "r"]),
    (["demo", "--root", "r"], "sipas_data.__main__", ["demo", "--root", "r"]),
    (["releases"], "sipas_data.__main__", ["releases"]),
    (["geo", "install", "d.geojson", "--vintage", "2019", "--level", "district"], "geo.__main__",
     ["install", "d.geojson", "--vintage", "2019", "--level", "district"]),
    (["geo", "layers"], "geo.__main__", ["layers"]),
    (["geo", "search", "hong ngu"], "geo.__main__", ["search", "hong ngu"]),
    (["geo", "units", "--parent", "VN"], "geo.__main__", ["units", "--parent", "VN"]),
])
def test_each_command_reaches_its_module_with_its_arguments_and_exit_status(argv, module, passed, monkeypatch):
    calls = []
    monkeypatch.setattr(importlib.import_module(module), "main", lambda a, prog: calls.append(a) or 7)
    assert cli.main(argv) == 7
    assert calls == [passed]


@pytest.mark.parametrize("argv, usage", [(["build", "--help"], "usage: sipas build"),
                                          (["geo", "search", "--help"], "usage: sipas geo search")])
def test_help_of_a_command_names_the_sipas_command(argv, usage, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(usage)


def test_releases_and_geo_search_run_for_real(tmp_path, capsys):
    assert cli.main(["releases", "--root", str(tmp_path)]) == 0
    assert "No releases yet" in capsys.readouterr().out
    assert cli.main(["geo", "search", "hong ngu"]) == 0
    assert "Thành phố Hồng Ngự" in capsys.readouterr().out.splitlines()[0]
    assert cli.main(["geo", "search", "no such place qxz"]) == 1


def test_bad_arguments_of_a_command_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["geo"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["build"])
    assert exc.value.code == 2


def _requirements() -> tuple[list[str], list[str]]:
    runtime, test, current = [], [], None
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            current = test if line.lstrip("# ").lower().startswith("test") else runtime
        elif line.strip():
            (current if current is not None else runtime).append(line.strip())
    return runtime, test


def test_pyproject_has_the_tested_ranges_of_requirements_txt():
    runtime, test = _requirements()
    assert runtime and test
    assert PYPROJECT["project"]["dependencies"] == runtime
    assert PYPROJECT["project"]["optional-dependencies"]["test"] == test


def test_every_module_at_the_top_is_packaged():
    """A module beside the packages that they import (atomic.py) must be installed with them."""
    modules = {p.stem for p in ROOT.glob("*.py")} - {"app"}
    assert modules <= set(PYPROJECT["tool"]["setuptools"].get("py-modules", []))


def test_every_data_file_of_the_packages_is_packaged():
    """A file the code reads (a methodology, a template, the calendar) must be in the package data."""
    find = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    data = PYPROJECT["tool"]["setuptools"].get("package-data", {})
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert {"sipas_data", "geo", "ui"} <= packages
    for package in packages - {"pages", "tests"}:
        assert any(fnmatch.fnmatch(package, pat) for pat in find), f"{package} is not packaged"
        for path in (ROOT / package).rglob("*"):
            if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            rel = path.relative_to(ROOT / package).as_posix()
            assert any(fnmatch.fnmatch(rel, pat) for pat in data.get(package, [])), \
                f"{package}/{rel} is not in [tool.setuptools.package-data]"
