"""The package as a user gets it from ``pip install .``: a wheel that ships every module and file, declares
the distributions its code imports, and runs a notebook from outside the repository.

The wheel is built offline (``--no-isolation``: the build backend comes from requirements-dev.txt) from a
copy of the sources, and installed with ``--no-deps`` into a virtualenv that sees the packages of the
environment the tests run in (a ``.pth`` file adds its site-packages: ``system_site_packages`` would reach
the base interpreter's instead, which on a fresh machine has none of them). Everything in it runs from a
temporary folder with a clean environment, so the repository's editable install is never what gets
imported; the tests assert that too.

The locks: ``requirements.txt`` and ``requirements-dev.txt`` pin every package (``bash .ci/lock`` writes
them from ``requirements.in``, ``requirements-dev.in`` and pyproject.toml, which keeps ranges).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from email.parser import Parser
from importlib.metadata import packages_distributions
from pathlib import Path

import nbformat
import pytest
import tomllib
from jupyter_core.paths import jupyter_path
from packaging.requirements import Requirement

REPO = next(folder for folder in Path(__file__).resolve().parents if (folder / "pyproject.toml").is_file())
PACKAGE = "serverless_iris"
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", PACKAGE)  # what the build reads
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
TIMEOUT_S = 600

# The tiny notebook the installed runner runs: login() and the embedded store, both from the wheel.
FEATURE_CELLS = (
    "N_ROWS = 2  # rows to insert",
    "import pandas as pd\n\nimport serverless_iris\nfrom serverless_iris import login",
    'print("serverless_iris imported from", serverless_iris.__file__)',
    "fs = login().get_feature_store()\n"
    'fg = fs.get_or_create_feature_group(name="iris", version=1, primary_key=["sepal_length"])\n'
    'fg.insert(pd.DataFrame({"sepal_length": [float(i) for i in range(N_ROWS)], "variety": "Setosa"}))\n'
    'print(f"rows in iris v1: {len(fg.read())}")',
)


def _source_files() -> set[str]:
    """The package's files in the repository, as paths relative to the repository (no byte code)."""
    return {
        path.relative_to(REPO).as_posix()
        for path in (REPO / PACKAGE).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def _source_modules() -> set[str]:
    """Every module and package the repository's sources define, as dotted names."""
    names = set()
    for file in _source_files():
        if file.endswith(".py"):
            parts = file.removesuffix(".py").split("/")
            names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _clean_env(**extra: str) -> dict[str, str]:
    """An environment without PYTHONPATH or anything else of the test run's, but HOME (caches) and PATH.

    A virtualenv's Jupyter data path is its own ``share/jupyter``, where pip would have put nbconvert's
    templates had it installed nbconvert there; ``JUPYTER_PATH`` points at this environment's instead.
    """
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": os.environ["HOME"],
        "LANG": "C.UTF-8",
        "JUPYTER_PATH": os.pathsep.join(jupyter_path()),
        **extra,
    }


def _run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``python -m build`` makes from the sdist of a copy of the sources, offline."""
    root = tmp_path_factory.mktemp("build")
    source = root / "source"
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    built = _run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(root / "dist"), str(source)], root
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels = sorted((root / "dist").glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def venv_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv's Python, seeing this environment's packages, with the wheel installed alone."""
    folder = tmp_path_factory.mktemp("venv")
    venv.create(folder, with_pip=False)
    python = folder / "bin" / "python"
    # Added after the virtualenv's own site-packages, so the wheel installed there comes first; addsitedir
    # also applies their .pth files, as system_site_packages does for the base interpreter's.
    (_site_packages(python) / "_tests_environment.pth").write_text(
        "".join(f"import site; site.addsitedir({path!r})\n" for path in site.getsitepackages()),
        encoding="utf-8",
    )
    # pip comes from this environment; --ignore-installed: the editable install there has our name.
    installed = _run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
        folder,
        _clean_env(PIP_DISABLE_PIP_VERSION_CHECK="1"),
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return python


def _site_packages(python: Path) -> Path:
    return next((python.parents[1] / "lib").glob("python3*/site-packages"))


def test_wheel_ships_every_module_template_and_the_licence(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(name.split("/")[0] for name in names if name.endswith(".dist-info/METADATA"))
        licence = archive.read(f"{info}/licenses/LICENSE").decode()
    shipped = {name for name in names if name.startswith(f"{PACKAGE}/")}
    expected = _source_files()
    assert shipped == expected, {"missing": expected - shipped, "extra": shipped - expected}
    assert {
        f"{PACKAGE}/runner/pages/templates/{name}" for name in ("iris_index.html.j2", "knn.js")
    } <= shipped
    assert licence == (REPO / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence


def test_wheel_metadata_names_the_licence_python_and_dependencies(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(name).decode())
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Version"] == PYPROJECT["project"]["version"]
    assert "Programming Language :: Python :: 3.11" in metadata.get_all("Classifier")
    required = {r for r in metadata.get_all("Requires-Dist") if "extra ==" not in r}
    assert {_distribution(r) for r in required} == {
        _distribution(r) for r in PYPROJECT["project"]["dependencies"]
    }


@pytest.mark.slow
def test_installed_wheel_imports_every_module_from_the_virtualenv(venv_python: Path, tmp_path: Path) -> None:
    script = (
        "import importlib, json, pkgutil\n"
        f"import {PACKAGE} as package\n"
        "found = {package.__name__: package.__file__}\n"
        "for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "    found[info.name] = importlib.import_module(info.name).__file__\n"
        "print(json.dumps(found))\n"
    )
    result = _run([str(venv_python), "-c", script], tmp_path, _clean_env())
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.splitlines()[-1])
    assert set(found) == _source_modules(), {"missing": _source_modules() - set(found)}
    site = _site_packages(venv_python)
    outside = {name: file for name, file in found.items() if not Path(file).is_relative_to(site)}
    assert not outside, f"imported from outside the virtualenv's {site}: {outside}"


@pytest.mark.slow
def test_installed_runner_renders_a_report_outside_the_repository(venv_python: Path, tmp_path: Path) -> None:
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    cells = [nbformat.v4.new_code_cell(source) for source in FEATURE_CELLS]
    cells[0].metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nbformat.write(notebook, notebooks / "iris-feature-pipeline.ipynb")
    shutil.copy2(REPO / "runner.py", tmp_path / "runner.py")  # the public entry; its folder holds no package
    outputs, store = tmp_path / "outputs", tmp_path / "store"
    command = [str(venv_python), "runner.py", "--only", "feature", "-p", "N_ROWS=3"]
    command += ["--notebooks", str(notebooks), "--outputs", str(outputs)]

    result = _run(command, tmp_path, _clean_env(IRIS_STORE=str(store), IRIS_BACKEND="local"))

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (run,) = (outputs / "runs").iterdir()
    assert json.loads((run / "run.json").read_text())["status"] == "succeeded"
    (report,) = [p for p in run.glob("*.html") if not p.name.endswith(".results.html")]
    html = report.read_text(encoding="utf-8")
    assert 'class="ir-header"' in html  # the report template's header
    assert (REPO / PACKAGE / "runner/pages/templates/iris_report.css").read_text().splitlines()[0] in html
    assert "rows in iris v1: 3" in html  # the parameter reached the notebook; the embedded store answered
    kernel_package = re.search(r"serverless_iris imported from (\S+)", html)  # by the notebook's kernel
    assert kernel_package, html[-2000:]
    assert Path(kernel_package[1]).is_relative_to(_site_packages(venv_python)), kernel_package[1]
    assert "Serverless Iris" in (outputs / "index.html").read_text(encoding="utf-8")
    assert any(store.iterdir()), "the embedded store was not written under IRIS_STORE"


def _distribution(requirement: str) -> str:
    """A requirement's distribution name, normalised (PEP 503): ``Jinja2>=3`` -> ``jinja2``."""
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert name, f"not a requirement: {requirement!r}"
    return re.sub(r"[-_.]+", "-", name[0]).lower()


def _top_level_imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level third-party modules imported by the package's modules and the notebooks' code cells."""
    sources = {path.relative_to(REPO).as_posix(): path.read_text() for path in (REPO / PACKAGE).rglob("*.py")}
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        code = [line for cell in cells if cell.cell_type == "code" for line in cell.source.splitlines()]
        sources[path.relative_to(REPO).as_posix()] = "\n".join(line for line in code if line[:1] not in "%!")
    imports: dict[str, set[str]] = {}
    for where, source in sources.items():
        for name in _top_level_imports(source) - set(sys.stdlib_module_names) - {PACKAGE, "__future__"}:
            imports.setdefault(name, set()).add(where)
    return imports


def test_declared_dependencies_are_exactly_what_the_code_and_notebooks_import() -> None:
    declared = {_distribution(r) for r in PYPROJECT["project"]["dependencies"]}
    providers = {
        module: {_distribution(d) for d in names} for module, names in packages_distributions().items()
    }
    imports = _third_party_imports()
    unknown = {module: sorted(where) for module, where in imports.items() if module not in providers}
    assert not unknown, f"imported but provided by no installed distribution: {unknown}"
    undeclared = {
        f"{module} ({' or '.join(sorted(providers[module]))})": sorted(where)
        for module, where in imports.items()
        if not providers[module] & declared
    }
    assert not undeclared, f"imported but not in pyproject.toml's dependencies: {undeclared}"
    unused = declared - set().union(*(providers[module] for module in imports))
    assert not unused, f"declared in pyproject.toml but imported by no module or notebook: {sorted(unused)}"


def test_version_is_the_newest_release_in_the_changelog() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.MULTILINE)
    assert headings[:1] == ["Unreleased"], headings
    assert headings[1] == PYPROJECT["project"]["version"], headings


def _locked(name: str) -> tuple[dict[str, str], list[str]]:
    """A lock's pins (normalised name -> version) and its other requirement lines (the local installs).

    Every line is a pin, a local install or a comment: a range would let an install drift.
    """
    pins, local = {}, []
    for line in (REPO / name).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith(("-e ", "./")):
            local.append(line)
            continue
        pin = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)", line)
        assert pin, f"{name}: not a pin: {line!r}"
        pins[_distribution(pin[1])] = pin[2]
    return pins, local


def _inputs(name: str) -> list[Requirement]:
    """The named requirements of a lock's input file and the files it includes with ``-r``."""
    requirements = []
    for line in (REPO / name).read_text(encoding="utf-8").splitlines():
        line = line.split(" #", 1)[0].strip()
        if line.startswith("-r "):
            requirements += _inputs(line.removeprefix("-r ").strip())
        elif line and not line.startswith(("#", "-", ".")):
            requirements.append(Requirement(line))
    return requirements


@pytest.mark.parametrize(
    ("lock", "source"),
    [("requirements.txt", "requirements.in"), ("requirements-dev.txt", "requirements-dev.in")],
)
def test_each_lock_is_written_by_uv_from_its_input_for_python_3_11_on_linux(lock: str, source: str) -> None:
    header = (REPO / lock).read_text(encoding="utf-8").splitlines()[:2]
    assert header[0] == "# This file was autogenerated by uv via the following command:", header
    command = header[1].removeprefix("#").split()
    assert command[:3] == ["uv", "pip", "compile"] and command[-3:] == [source, "-o", lock], command
    assert "--python-version 3.11" in header[1] and "--python-platform x86_64-manylinux_2_28" in header[1]
    pins, local = _locked(lock)
    assert local == ["-e .", "./jupyter-config"], local  # the checkout, editable, and its Jupyter config
    assert pins  # _locked found every other line a pin


def test_the_run_lock_pins_what_the_development_lock_pins_and_nothing_else() -> None:
    run, _ = _locked("requirements.txt")
    development, _ = _locked("requirements-dev.txt")
    differing = {
        name: (version, development.get(name))
        for name, version in run.items()
        if development.get(name) != version
    }
    assert not differing, (
        f"requirements.txt vs requirements-dev.txt (bash .ci/lock locks them together): {differing}"
    )


def test_the_locks_satisfy_pyproject_and_their_inputs() -> None:
    """Fails when a range or dependency changed without ``bash .ci/lock``: the locks would not install it."""
    project = PYPROJECT["project"]
    declared = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["jupyter"]]
    for lock, source in (
        ("requirements.txt", "requirements.in"),
        ("requirements-dev.txt", "requirements-dev.in"),
    ):
        pins, _ = _locked(lock)
        wanted = declared + _inputs(source)
        unmet = {
            str(requirement): pins.get(_distribution(requirement.name))
            for requirement in wanted
            if pins.get(_distribution(requirement.name)) not in requirement.specifier
        }
        assert not unmet, f"{lock} does not satisfy (requirement: locked version): {unmet}; run bash .ci/lock"


def test_requirements_install_this_checkout_with_extras_the_package_declares() -> None:
    lines = (REPO / "requirements.in").read_text(encoding="utf-8").splitlines()
    editable = [line.split()[-1] for line in lines if line.startswith("-e ")]
    assert len(editable) == 1 and re.fullmatch(r"\.(\[[\w,-]+\])?", editable[0]), editable
    extras = set(re.findall(r"[\w-]+", editable[0].removeprefix(".")))
    assert extras <= set(PYPROJECT["project"].get("optional-dependencies", {})), extras  # pip only warns
    assert "./jupyter-config" in lines
