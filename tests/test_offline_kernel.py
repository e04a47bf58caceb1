"""The "Python 3 (embedded Hopsworks)" kernel (serverless_iris.offline_kernel): a notebook written for
Hopsworks runs in it unchanged, on the embedded store; everywhere else, and with a Hopsworks key, the SDK is
the SDK.

The patch is tried in processes of their own (it changes the SDK's modules for the life of a process). The
course's Lab 1 (tests/fixtures/course-lab1: its calls in its order) runs through the Jupyter protocol, in
the kernel that ``pip install -r requirements.txt`` installs (``jupyter-config/``), picked by its name.
Network cells of the course: ``!pip install hopsworks`` runs with ``PIP_NO_INDEX=1`` (pip finds the package
installed and asks no index); the backfill's ``pd.read_csv("https://repo.hops.works/...")`` reads
the same CSV from a ``file://`` URL, the one change made to the copy run here, with ``BACKFILL = True`` (the
course's instruction for a first run).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from support import COURSE_CSV_URL, OFFLINE_PIP, course_checkout, course_feature_view

from serverless_iris.embedded.project import LocalProject
from serverless_iris.offline_kernel import DISPLAY_NAME, KERNEL_NAME, kernel_spec
from serverless_iris.paths import ASSETS_DIR, REPO_ROOT, importable

SHIPPED = REPO_ROOT / "jupyter-config" / "kernels" / KERNEL_NAME / "kernel.json"
INSTALL = "from serverless_iris.offline_kernel import install; install()"
REFUSED = {"HOPSWORKS_HOST": "127.0.0.1", "HOPSWORKS_PORT": "9"}  # the discard port: refused at once, offline


def python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter in ``tmp_path``, on the embedded store ``tmp_path/store`` unless
    ``env`` says otherwise; no Hopsworks variable from the test's environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HOPSWORKS_", "IRIS_"))}
    done = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", code],
        cwd=tmp_path,
        env=importable({**base, "IRIS_STORE": str(tmp_path / "store"), **env}),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_the_shipped_kernel_spec_is_the_one_the_package_declares() -> None:
    assert json.loads(SHIPPED.read_text()) == kernel_spec()
    assert kernel_spec()["display_name"] == DISPLAY_NAME == "Python 3 (embedded Hopsworks)"


ENTRY_POINTS = """
import json, warnings
import hopsworks  # before the patch, as in a kernel forked from the runner's fork server
from serverless_iris.offline_kernel import install
install()
import hsfs, hsml  # after it: patched as they load

project = hopsworks.login(api_key_value="k", project="p", host="h.example", port=1, api_key_file="/none")
fs = project.get_feature_store()
fg = fs.get_or_create_feature_group(name="iris", version=1, primary_key=["id"], description="d")
fg.insert(__import__("pandas").DataFrame({"id": [1, 2], "variety": ["Setosa", "Virginica"]}))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    old = hsfs.connection(host="h.example", api_key_value="k")
deprecation = [type(w.message).__name__ for w in caught]
facts = {
    "project": type(project).__name__,
    "store": str(project.store),
    "current": hopsworks.get_current_project() is project,
    "hsfs": len(old._get_feature_store().get_feature_group(name="iris", version=1).read()),
    "hsfs_host": old.host,
    "deprecation": deprecation,
    "hsml": str(hsml.connection()._get_project().store),
    "hopsworks": hopsworks.connection()._get_model_registry().get_models("iris"),
}
try:
    hopsworks.login(key="k")
except TypeError as exc:
    facts["ours"] = str(exc)
try:
    hopsworks.login.__wrapped__(key="k")
except TypeError as exc:
    facts["sdk"] = str(exc)
print(json.dumps(facts))
"""


def test_every_entry_point_of_the_sdk_leads_to_the_one_embedded_store(tmp_path: Path) -> None:
    done = python(ENTRY_POINTS, tmp_path)
    lines = done.stdout.splitlines()
    facts = json.loads(lines[-1])
    store = tmp_path / "store"
    assert facts["project"] == "LocalProject" and facts["store"] == str(store) and facts["current"]
    assert facts["hsfs"] == 2 and facts["hsfs_host"] == "h.example"  # the rows login()'s project wrote
    assert facts["deprecation"] == ["HopsworksDeprecationWarning"]  # the SDK's own warning, kept
    assert facts["hsml"] == str(store) and facts["hopsworks"] == []
    assert facts["ours"] == facts["sdk"] == "login() got an unexpected keyword argument 'key'"
    said = "Embedded Hopsworks stand-in, store store/ (offline, not Hopsworks; set HOPSWORKS_API_KEY to use "
    said += "Hopsworks)"
    assert lines[:-1] == [said] * 4  # one line per login or connection, naming the store


SDK_LOGIN = """
import hopsworks, hsfs
from hopsworks_common.connection import Connection
{install}
patched = [getattr(f, "_serverless_iris_embedded", False) for f in (hopsworks.login, Connection._connection)]
print(patched)
def old():  # the older entry point takes no host from the environment
    return hsfs.connection(host="127.0.0.1", port=9, api_key_value="k")
for call in (lambda: hopsworks.login(api_key_value="k"), old):
    try:
        print("returned", type(call()).__name__)
    except Exception as exc:
        print("raised", type(exc).__module__, type(exc).__name__, "127.0.0.1" in str(exc))
"""


@pytest.mark.parametrize(
    ("install", "env", "patched"),
    [
        ("", {}, "[False, False]"),  # outside the kernel, on the local backend: the SDK as it is
        (INSTALL, {"HOPSWORKS_API_KEY": "k"}, "[True, True]"),
        (INSTALL, {"IRIS_BACKEND": "hopsworks"}, "[True, True]"),
    ],
    ids=["outside-the-kernel", "kernel-with-a-key", "kernel-with-IRIS_BACKEND=hopsworks"],
)
def test_the_real_sdk_logs_in_outside_the_kernel_and_when_hopsworks_is_chosen(
    tmp_path: Path, install: str, env: dict[str, str], patched: str
) -> None:
    """Each login goes to HOPSWORKS_HOST (127.0.0.1:9, refused): the SDK tried to reach Hopsworks."""
    done = python(SDK_LOGIN.format(install=install), tmp_path, **REFUSED, **env)
    lines = done.stdout.splitlines()
    assert lines[0] == patched
    assert len(lines) == 3
    assert all(line.startswith("raised ") and line.endswith(" True") for line in lines[1:]), lines
    assert "Embedded Hopsworks" not in done.stdout
    assert not (tmp_path / "store").exists()


@pytest.fixture(scope="module")
def installed_kernels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``jupyter-config/`` installed the way ``pip install -r requirements.txt`` installs it: the Jupyter
    data folder of that prefix."""
    prefix = tmp_path_factory.mktemp("prefix")
    source = tmp_path_factory.mktemp("source") / "jupyter-config"
    ignore = shutil.ignore_patterns("build", "*.egg-info")
    shutil.copytree(REPO_ROOT / "jupyter-config", source, ignore=ignore)
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "--prefix", str(prefix), str(source)], check=True, capture_output=True, text=True)
    return prefix / "share" / "jupyter"


def test_pip_install_puts_the_kernel_where_jupyter_finds_it(installed_kernels: Path) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager(kernel_dirs=[str(installed_kernels / "kernels")]).get_kernel_spec(KERNEL_NAME)
    assert spec.display_name == DISPLAY_NAME
    assert spec.argv == ["python", "-m", "serverless_iris.offline_kernel", "-f", "{connection_file}"]


def _execute(notebook: Path) -> nbformat.NotebookNode:
    """Run ``notebook`` in its folder through the Jupyter protocol, in the kernel named serverless-iris."""
    book = nbformat.read(notebook, as_version=4)
    here = {"metadata": {"path": str(notebook.parent)}}
    NotebookClient(book, kernel_name=KERNEL_NAME, resources=here).execute()
    return book


def test_the_course_lab1_runs_unchanged_in_the_installed_kernel(
    installed_kernels: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = course_checkout(tmp_path / "course")
    feature = module / "iris-feature-pipeline.ipynb"
    first_run = feature.read_text().replace("BACKFILL = False", "BACKFILL = True")
    feature.write_text(first_run.replace(COURSE_CSV_URL, (ASSETS_DIR / "iris.csv").as_uri()))
    for name in [n for n in os.environ if n.startswith(("HOPSWORKS_", "IRIS_"))]:
        monkeypatch.delenv(name)
    store = tmp_path / "store"
    monkeypatch.setenv("IRIS_STORE", str(store))
    monkeypatch.setenv("JUPYTER_PATH", str(installed_kernels))  # only the pip-installed spec
    monkeypatch.setenv("PYTHONPATH", importable(os.environ)["PYTHONPATH"])
    for name, value in OFFLINE_PIP.items():
        monkeypatch.setenv(name, value)

    ran = _execute(feature)
    login = next(cell for cell in ran.cells if "hopsworks.login()" in cell.source)
    assert login.outputs[0]["text"].startswith("Embedded Hopsworks stand-in, store ")
    course_feature_view(store)
    _execute(module / "iris-train-pipeline.ipynb")
    _execute(module / "iris-batch-inference-pipeline.ipynb")

    fs = LocalProject(store).get_feature_store()
    assert len(fs.get_feature_group(name="iris", version=1).read()) == len(
        __import__("pandas").read_csv(ASSETS_DIR / "iris.csv")
    )
    assert len(fs.get_feature_group(name="iris_predictions", version=1).read()) == 1
    model = LocalProject(store).get_model_registry().get_model("iris", version=1)
    assert (Path(model.download()) / "iris_model.pkl").is_file()
    assert (module / "assets" / "confusion_matrix.png").is_file()  # the training notebook's figure
    for picture in ("latest_iris.png", "actual_iris.png", "df_recent.png"):
        assert (tmp_path / "course" / "assets" / picture).is_file(), picture


def test_the_embedded_connection_takes_the_sdks_arguments_and_has_its_ways_to_a_store() -> None:
    """In 5.2.1 a connection's ways to a store are private (``Project`` calls them): the same ones here,
    each with the SDK's parameters; the old public ``get_feature_store`` is gone on both."""
    import inspect

    from hopsworks_common.connection import Connection as SdkConnection

    from serverless_iris.embedded.connection import Connection

    def parameters(function: object) -> list[tuple[str, object]]:
        return [(p.name, p.default) for p in inspect.signature(function).parameters.values()]

    assert parameters(Connection.__init__) == parameters(SdkConnection.__init__)
    for method in ("_get_feature_store", "_get_model_registry", "_get_model_serving", "_get_project"):
        assert parameters(getattr(Connection, method)) == parameters(getattr(SdkConnection, method)), method
    assert not hasattr(SdkConnection, "get_feature_store") and not hasattr(Connection, "get_feature_store")
