"""The embedded model registry: files in ``<store>/models/<name>/<version>/``, metadata in the store's DuckDB.

It mirrors hsml 5.x (``ModelRegistry.get_model/get_models/get_best_model``, ``mr.python`` /
``mr.sklearn`` ``.create_model``, ``Model.save/download/delete``): same parameter names, positions
and defaults, ``None`` for a missing model, the same messages where the SDK has one.

A version exists exactly when its ``models`` row does. ``save`` copies the files into a staging folder,
renames it into place and inserts the row in one transaction, so a process killed mid-save leaves
only leftovers that no reader looks at and that the next save or delete removes. The copy runs while
the transaction holds the store: iris models are kilobytes, and it means anything found under the
lock that has no row belongs to a dead process. Before a save renames a folder into place, or a delete
removes a row, it writes a pending marker naming that version, so the clean-up removes only folders the
registry itself was writing or deleting: a complete version folder that merely lacks its row (the
store's database was deleted or restored from an older copy) is left in place, with a warning.
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
import re
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from serverless_iris.embedded.db import connect, transaction
from serverless_iris.embedded.model_serving import DeployMixin
from serverless_iris.embedded.sdk_gaps import SdkGaps
from serverless_iris.embedded.util import PROJECT_NAME
from serverless_iris.paths import kill_point

MODELS_DIR = "models"
STAGING_DIR = ".staging"
PENDING_SUFFIX = ".pending"  # <staging>/<uuid>.pending holds "<name>/<version>" of a save or delete under way
DEFAULT_VERSION = 1  # hsml ModelRegistry.DEFAULT_VERSION: get_model(name) without a version
NAME_PATTERN = re.compile(r"[a-zA-Z0-9_]+")  # hsml util._validate_model_name
# sign that makes the best version the largest; hsml.core.model_api.ModelApi._get_models turns "max"/"min"
# into the backend's sort orders "desc"/"asc", and passes those through as given
DIRECTIONS = {"max": 1, "min": -1, "desc": 1, "asc": -1}
_CHUNK = 1 << 20

_TABLES = """
CREATE TABLE IF NOT EXISTS models (
    name VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    framework VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    metrics VARCHAR,                  -- JSON object of floats, as the Hopsworks backend returns them
    input_example VARCHAR,            -- JSON, as hsml's util._input_example_to_json makes it
    model_schema VARCHAR,             -- JSON of ModelSchema/Schema.to_dict() or a plain dict
    feature_view VARCHAR,             -- JSON {"name", "version"} of the view the model was trained on
    training_dataset_version INTEGER,
    created TIMESTAMP NOT NULL,       -- UTC
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS model_files (
    name VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    path VARCHAR NOT NULL,            -- relative to the version folder, '/'-separated
    size BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL,
    PRIMARY KEY (name, version, path)
);
"""
_COLUMNS = (
    "name, version, framework, description, metrics, input_example, model_schema, feature_view, "
    "training_dataset_version"
)


class ModelRegistryException(Exception):
    """A registry operation was refused (same name and role as hopsworks' ``ModelRegistryException``)."""


class ModelIntegrityError(ModelRegistryException):
    """A saved version's files no longer match the checksums recorded when it was saved."""


class VersionWarning(Warning):
    """No version was given, so a default one is used (as hopsworks' ``util.VersionWarning``)."""


class UnregisteredModelWarning(UserWarning):
    """A version folder holds files but the registry has no row for it; it is left alone."""


class ProvenanceWarning(Warning):
    """Mirrors ``hopsworks_common.util.ProvenanceWarning``: provenance metadata could not be completed."""


@dataclass(frozen=True)
class _Metadata:
    """One version's metadata as the ``models`` row stores it (JSON text)."""

    framework: str
    description: str
    metrics: str | None
    input_example: str | None
    model_schema: str | None
    feature_view: str | None
    training_dataset_version: int | None


class ModelRegistry(SdkGaps):
    """The embedded counterpart of ``hsml.model_registry.ModelRegistry``."""

    def __init__(self, store: Path) -> None:
        self._store = Path(store)
        self.python = _Signature(self._store, "PYTHON")
        self.sklearn = _Signature(self._store, "SKLEARN")

    def __repr__(self) -> str:
        return f"ModelRegistry(store: {str(self._store)!r})"

    def get_model(self, name: str, version: int | None = None) -> Model | None:
        """The model's version, or ``None`` when it does not exist. Like hsml, no version means version 1
        (with a :class:`VersionWarning`), not the latest."""
        if version is None:
            warnings.warn(
                f"No version provided for getting model `{name}`, defaulting to `{DEFAULT_VERSION}`.",
                VersionWarning,
                stacklevel=2,
            )
            version = DEFAULT_VERSION
        models = self._select("WHERE name = ? AND version = ?", [name, _checked_version(version)])
        return models[0] if models else None

    def get_models(self, name: str) -> list[Model]:
        """Every saved version of ``name``, oldest first (empty when there is none)."""
        return self._select("WHERE name = ? ORDER BY version", [name])

    def get_best_model(self, name: str, metric: str, direction: str) -> Model | None:
        """The version with the highest (``"max"``) or lowest (``"min"``) training metric ``metric``.

        Versions without that metric are skipped; ``None`` when no version has it. Ties go to the newest
        version (the Hopsworks backend leaves their order unspecified).
        """
        sign = DIRECTIONS.get(str(direction).lower())  # hsml model_api._get_models lower-cases it too
        if sign is None:
            raise ValueError(f"direction {direction!r} is not supported; use one of: {', '.join(DIRECTIONS)}")
        scored = [m for m in self.get_models(name) if metric in (m.training_metrics or {})]
        return max(scored, key=lambda m: (sign * m.training_metrics[metric], m.version), default=None)

    def _select(self, where: str, params: list[Any]) -> list[Model]:
        with _database(self._store) as con:
            rows = con.execute(f"SELECT {_COLUMNS}, epoch_ms(created) FROM models {where}", params).fetchall()
        return [Model._from_row(self._store, row) for row in rows]


class _Signature:
    """``mr.python`` / ``mr.sklearn``: the per-framework ``create_model`` of hsml's signature modules."""

    def __init__(self, store: Path, framework: str) -> None:
        self._store = store
        self._framework = framework

    def __repr__(self) -> str:
        return f"<{self._framework.lower()} model signature>"

    def create_model(
        self,
        name: str,
        version: int | None = None,
        metrics: dict | None = None,
        description: str | None = None,
        input_example: Any = None,
        model_schema: Any = None,
        feature_view: Any = None,
        training_dataset_version: int | None = None,
    ) -> Model:
        """A model metadata object to ``save()``; writes nothing yet (like hsml's lazy ``create_model``).

        Unlike hsml, bad metadata is refused here rather than at ``save()`` time.
        """
        _check_name(name)
        metadata = _Metadata(
            framework=self._framework,
            description="A collection of models for " + name if description is None else description,
            metrics=None if metrics is None else json.dumps(_checked_metrics(metrics)),
            input_example=None if input_example is None else _to_json(_input_example_to_json(input_example)),
            model_schema=None if model_schema is None else _to_json(_schema_to_dict(model_schema)),
            feature_view=None if feature_view is None else _to_json(_feature_view_ref(feature_view)),
            training_dataset_version=training_dataset_version,
        )
        model = Model(self._store, name, None if version is None else _checked_version(version), metadata)
        model._feature_view = feature_view
        return model


class Model(DeployMixin, SdkGaps):
    """The embedded counterpart of ``hsml.model.Model`` (attribute names as in hsml)."""

    def __init__(self, store: Path, name: str, version: int | None, metadata: _Metadata) -> None:
        self._store = store
        self._name = name
        self._version = version
        self._metadata = metadata
        self._created: int | None = None  # epoch milliseconds, as hsml's ModelDTO ``created``; None = unsaved
        self._feature_view: Any = None  # the view object given to create_model, read by save()

    @classmethod
    def _from_row(cls, store: Path, row: tuple) -> Model:
        name, version, *fields, created = row
        model = cls(store, name, version, _Metadata(*fields))
        model._created = created
        return model

    def __repr__(self) -> str:
        return f"Model(name: {self._name!r}, version: {self._version!r})"

    @property
    def id(self) -> str | None:
        return None if self._created is None else f"{self._name}_{self._version}"

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> int | None:
        return self._version

    @property
    def description(self) -> str:
        return self._metadata.description

    @property
    def created(self) -> int | None:
        """Creation time in epoch milliseconds (the Hopsworks backend's ``created`` is a ``Long``)."""
        return self._created

    @property
    def framework(self) -> str:
        return self._metadata.framework

    @property
    def training_metrics(self) -> dict[str, float] | None:
        return _from_json(self._metadata.metrics)

    @property
    def input_example(self) -> Any:
        """The stored example (a frame's first row as a list, ...); ``None`` until saved, as hsml reads it
        from the registry."""
        return None if self._created is None else _from_json(self._metadata.input_example)

    @property
    def model_schema(self) -> dict | None:
        """The stored schema as a dict; ``None`` until saved, as in hsml."""
        return None if self._created is None else _from_json(self._metadata.model_schema)

    @property
    def training_dataset_version(self) -> int | None:
        return self._metadata.training_dataset_version

    @property
    def model_path(self) -> str:
        """The model's folder without the version (hsml: ``/Projects/{project}/Models/{name}``)."""
        return str(self._store / MODELS_DIR / self._name)

    @property
    def version_path(self) -> str:
        return f"{self.model_path}{os.sep}{self._version}"

    @property
    def model_files_path(self) -> str:
        """Where the files are: the version folder itself (hsml puts them in a ``Files`` subfolder)."""
        return self.version_path

    def save(self, model_path: str) -> Model:
        """Copy ``model_path`` (a folder, or one file) into the registry as this model's version.

        No version → the next one; an existing version is refused with hsml's message and nothing changes.
        """
        source = Path(model_path)
        if not source.exists():
            raise FileNotFoundError(f"Could not find path {model_path} in the local filesystem")
        files = _files_under(source) if source.is_dir() else {source.name: source}
        linked = [
            path.relative_to(source).as_posix()
            for path in sorted(source.rglob("*"))
            if path.is_symlink() and path.is_dir()
        ]
        if linked:
            raise ValueError(
                f"model_path {model_path} holds links to folders ({', '.join(linked)}); Hopsworks' upload "
                "does not follow them, so their files would be missing from the model: copy the files in"
            )
        if not files:
            raise ValueError(f"model_path {model_path} holds no files; pass the folder with the model files")
        self._complete_provenance()
        models_dir = self._store / MODELS_DIR
        with _database(self._store, write=True) as con:
            unregistered = _remove_leftovers(con, models_dir)
            version = self._claim_version(con, unregistered)
            created = time.time_ns() // 1_000_000  # epoch ms, stored at ms precision so it reads back equal
            pending = _mark_pending(models_dir, self._name, version)
            staging = pending.with_suffix("")
            target = models_dir / self._name / str(version)
            placed = False
            try:
                checksums = _stage(files, staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.rename(staging, target)
                placed = True
                _fsync_dir(target.parent)
                kill_point("model-save")  # tests only: the files are in place, the metadata is not
                self._insert(con, version, created, checksums)
            except BaseException:
                # Still under the store's lock: nobody else can have claimed this version's folder.
                shutil.rmtree(staging, ignore_errors=True)
                if placed:
                    shutil.rmtree(target, ignore_errors=True)
                pending.unlink()
                raise
        pending.unlink()
        for folder in unregistered:
            warnings.warn(
                f"{folder} holds model files that have no entry in the registry (was the store's database "
                "deleted or restored from an older copy?); they were left in place and are not a version "
                "of the model: save them again, or move the folder away.",
                UnregisteredModelWarning,
                stacklevel=2,
            )
        self._version = version
        self._created = created
        print(f"Model created, explore it at {self.version_path}", flush=True)
        return self

    def _complete_provenance(self) -> None:
        """``hsml.model.Model.save``: a model given a feature view takes the view's last accessed training
        dataset version and, without a schema of its own, the input/output schema of that training
        dataset (labels are the output); what cannot be filled in is warned about, as there."""
        meta, view = self._metadata, self._feature_view
        version = meta.training_dataset_version
        if version is None and view is not None:
            version = view.get_last_accessed_training_dataset()
            if version is None:
                warnings.warn(
                    "Provenance cached data - feature view provided, but training dataset version is missing",
                    ProvenanceWarning,
                    stacklevel=3,
                )
        schema = meta.model_schema
        if schema is None and view is not None and version is not None:
            schema = _to_json(_schema_from_features(view.get_training_dataset_schema(version)))
        elif schema is None:
            warnings.warn(
                "Model schema cannot not be inferred without both the feature view and the training dataset "
                "version.",
                ProvenanceWarning,
                stacklevel=3,
            )
        self._metadata = replace(meta, training_dataset_version=version, model_schema=schema)

    def download(self, local_path: str | None = None) -> str:
        """Verify every file against its recorded SHA-256 and return a folder holding a verified copy.

        As in hsml the folder holds the model's files at its top level: ``local_path`` when given, else
        the version's cache folder ``<tmp>/hopsworks/models/<project>/<name>/<version>/<id>``, the same on
        every call (``hsml.engine.model_engine.ModelEngine._download``), reused while its files still
        match and rebuilt otherwise. A missing, changed or extra file in the registry raises
        :class:`ModelIntegrityError` naming it, and no folder is returned to load from.
        """
        self._require_saved("download")
        with _database(self._store) as con:
            recorded = dict(
                con.execute(
                    "SELECT path, sha256 FROM model_files WHERE name = ? AND version = ?",
                    [self._name, self._version],
                ).fetchall()
            )
        source = Path(self.version_path)
        found = _files_under(source) if source.is_dir() else {}
        problems = [f"{path}: missing" for path in sorted(recorded.keys() - found.keys())]
        problems += [f"{path}: not part of the saved model" for path in sorted(found.keys() - recorded)]
        scratch = Path(tempfile.mkdtemp(prefix="serverless-iris-model-"))
        copy = scratch / self._name / str(self._version)
        try:
            for path in sorted(recorded.keys() & found.keys()):
                # Hash the bytes as they are copied: what is returned is exactly what was verified.
                _, digest = _copy_file(found[path], copy / path)
                if digest != recorded[path]:
                    problems.append(f"{path}: changed since it was saved (sha256 {digest})")
            if problems:
                raise ModelIntegrityError(
                    f"model {self._name!r} version {self._version} in {source} failed verification and was "
                    f"not loaded: {'; '.join(problems)}. Delete this version (Model.delete()) and save it "
                    "again."
                )
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        if local_path is None:
            return self._cached(copy, recorded, scratch)
        shutil.copytree(copy, local_path, dirs_exist_ok=True)
        shutil.rmtree(scratch)
        return str(local_path)

    def _cached(self, copy: Path, recorded: dict[str, str], scratch: Path) -> str:
        """The cache folder: kept when its files are the recorded ones, else replaced by ``copy``; cached
        copies of other ids of this version are removed (``ModelEngine._prune_other_model_ids``).

        Every local store is a project called ``local``, so the id names the store too, as a Hopsworks
        model id is unique across a cluster: another store's model of the same name and version (another
        checkout, a test, a benchmark) keeps its own folder, and is not pruned while it is being read.
        """
        store = hashlib.sha256(str(self._store.resolve()).encode()).hexdigest()[:12]
        cache = Path(tempfile.gettempdir()) / "hopsworks" / MODELS_DIR / PROJECT_NAME / self._name
        cache = cache / str(self._version) / f"{self._created}-{store}"
        if cache.is_dir() and {p: _sha256(f) for p, f in _files_under(cache).items()} == recorded:
            print(f"Using cached model files at '{cache}'.", flush=True)
        else:
            shutil.rmtree(cache, ignore_errors=True)
            cache.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(copy, cache)
        shutil.rmtree(scratch, ignore_errors=True)
        for other in cache.parent.glob(f"*-{store}"):
            if other != cache:
                shutil.rmtree(other, ignore_errors=True)
        return str(cache)

    def delete(self) -> None:
        """Delete this version: its metadata first, then its files (a kill in between leaves an invisible
        leftover that the next save removes)."""
        self._require_saved("delete")
        key = [self._name, self._version]
        with _database(self._store, write=True) as con:
            _mark_pending(self._store / MODELS_DIR, self._name, self._version)
            con.execute("DELETE FROM model_files WHERE name = ? AND version = ?", key)
            con.execute("DELETE FROM models WHERE name = ? AND version = ?", key)
        with _database(self._store, write=True) as con:
            _remove_leftovers(con, self._store / MODELS_DIR)

    def _claim_version(self, con: duckdb.DuckDBPyConnection, unregistered: list[Path]) -> int:
        """The version to save as; runs in the save's transaction, so two savers never get the same one.
        A version whose folder holds unregistered files is never claimed: those files are not overwritten."""
        taken = [int(folder.name) for folder in unregistered if folder.parent.name == self._name]
        if self._version is None:
            (latest,) = con.execute(
                "SELECT coalesce(max(version), 0) FROM models WHERE name = ?", [self._name]
            ).fetchone()
            return max([latest, *taken]) + 1
        exists = con.execute(
            "SELECT 1 FROM models WHERE name = ? AND version = ?", [self._name, self._version]
        ).fetchone()
        if exists:  # hsml model_engine._set_model_version's message
            raise ModelRegistryException(
                f"Model with name {self._name} and version {self._version} already exists, "
                "please select another version."
            )
        if self._version in taken:
            raise ModelRegistryException(
                f"Model {self._name} version {self._version} has files in "
                f"{self._store / MODELS_DIR / self._name / str(self._version)} but no entry in the registry; "
                "they are left as they are: move that folder away, or select another version."
            )
        return self._version

    def _insert(
        self, con: duckdb.DuckDBPyConnection, version: int, created: int, checksums: dict[str, tuple]
    ) -> None:
        meta = self._metadata
        con.execute(
            f"INSERT INTO models ({_COLUMNS}, created) VALUES ({', '.join('?' * 9)}, epoch_ms(?::BIGINT))",
            [self._name, version, meta.framework, meta.description, meta.metrics, meta.input_example]
            + [meta.model_schema, meta.feature_view, meta.training_dataset_version, created],
        )
        con.executemany(
            "INSERT INTO model_files (name, version, path, size, sha256) VALUES (?, ?, ?, ?, ?)",
            [[self._name, version, path, size, digest] for path, (size, digest) in checksums.items()],
        )

    def _require_saved(self, action: str) -> None:
        if self._created is None:
            raise ModelRegistryException(f"model {self._name!r} is not saved yet; save() it before {action}")


@contextmanager
def _database(store: Path, write: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection (a transaction when ``write``) with the registry's tables in place."""
    with (transaction if write else connect)(store) as con:
        con.execute(_TABLES)
        yield con


def _mark_pending(models_dir: Path, name: str, version: int) -> Path:
    """Record, durably, that this version's folder is being written or deleted; returns the marker, whose
    name without its suffix is the save's staging folder."""
    marker = models_dir / STAGING_DIR / f"{uuid.uuid4().hex}{PENDING_SUFFIX}"
    marker.parent.mkdir(parents=True, exist_ok=True)
    with open(marker, "x") as writer:
        writer.write(f"{name}/{version}")
        writer.flush()
        os.fsync(writer.fileno())
    return marker


def _remove_leftovers(con: duckdb.DuckDBPyConnection, models_dir: Path) -> list[Path]:
    """Remove what killed saves and deletes left behind: staging folders, and the version folders a pending
    marker names that have no row. Returns the other version folders without a row, which are left alone.

    Runs under the store's lock, which every save and delete holds while it touches these folders, so
    nothing removed here belongs to a live process.
    """
    registered = set(con.execute("SELECT name, version FROM models").fetchall())
    for marker in (models_dir / STAGING_DIR).glob(f"*{PENDING_SUFFIX}"):
        name, _, version = marker.read_text().partition("/")
        if NAME_PATTERN.fullmatch(name) and version.isdigit() and (name, int(version)) not in registered:
            shutil.rmtree(models_dir / name / version, ignore_errors=True)
    shutil.rmtree(models_dir / STAGING_DIR, ignore_errors=True)
    return [
        folder
        for folder in sorted(models_dir.glob("*/*"))
        if NAME_PATTERN.fullmatch(folder.parent.name)
        and folder.name.isdigit()
        and (folder.parent.name, int(folder.name)) not in registered
    ]


def _stage(files: dict[str, Path], staging: Path) -> dict[str, tuple[int, str]]:
    """Copy ``files`` under ``staging`` durably; return each relative path's size and SHA-256."""
    checksums = {path: _copy_file(source, staging / path) for path, source in files.items()}
    for folder in {(staging / path).parent for path in files} | {staging.parent}:
        _fsync_dir(folder)
    return checksums


def _copy_file(source: Path, target: Path) -> tuple[int, str]:
    """Copy one file, fsync it, and return its size and the SHA-256 of the bytes written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with open(source, "rb") as reader, open(target, "xb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return size, digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as reader:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    """Make new entries and renames in ``folder`` durable (POSIX only: Windows cannot open a folder)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _files_under(folder: Path) -> dict[str, Path]:
    """Every file below ``folder``, keyed by its '/'-separated path relative to it."""
    return {path.relative_to(folder).as_posix(): path for path in sorted(folder.rglob("*")) if path.is_file()}


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):  # hsml util._validate_model_name
        raise ModelRegistryException(
            f"Invalid model name '{name}'. Model name must contain only alphanumeric characters "
            "and underscores (regex: [a-zA-Z0-9_]+)."
        )


def _checked_version(version: Any) -> int:
    """A positive int; numpy integers (a version read back from a frame) are accepted too."""
    try:
        number = operator.index(version)
    except TypeError:
        number = 0
    if isinstance(version, bool) or number < 1:
        raise ValueError(f"version must be a positive integer, got {version!r}")
    return number


def _checked_metrics(metrics: Any) -> dict[str, float]:
    """hsml util._validate_metrics, then floats: the Hopsworks backend stores and returns ``Double``s."""
    if not isinstance(metrics, dict):
        raise TypeError(f"provided metrics is of instance {type(metrics)}, expected a dict")
    checked = {}
    for metric, value in metrics.items():
        if not isinstance(metric, str):
            raise TypeError(f"provided metrics key is of instance {type(metric)}, expected a string")
        try:
            checked[metric] = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"{value} is not a number, only numbers can be attached as metadata for models."
            ) from None
    return checked


def _input_example_to_json(input_example: Any) -> Any:
    """hsml util._input_example_to_json: a frame's first row as a list, a series or array as a (nested)
    list, a list or dict as given; empty ones are refused."""
    import numpy as np
    import pandas as pd

    if isinstance(input_example, dict):
        return input_example
    if isinstance(input_example, np.ndarray):
        converted = input_example.tolist() if input_example.size > 0 else None
    elif isinstance(input_example, pd.DataFrame):
        converted = None if input_example.empty else input_example.iloc[0].tolist()
    elif isinstance(input_example, pd.Series):
        converted = None if input_example.empty else input_example.tolist()
    elif isinstance(input_example, list):
        converted = input_example or None
    else:
        raise TypeError(
            f"{type(input_example)} is not a supported input example type; "
            "use a pandas DataFrame or Series, a numpy array, a list or a dict"
        )
    if converted is None:
        raise ValueError(f"input_example of type {type(input_example)} can not be empty")
    return converted


def _schema_to_dict(model_schema: Any) -> dict:
    """A dict, or an ``hsml.model_schema.ModelSchema`` / ``hsml.schema.Schema`` as their ``to_dict()`` is.

    Serialised here the way their ``json()`` does it, not by calling it: hopsworks 5.x warns on every
    call of a ``ModelSchema`` method made outside hopsworks.
    """
    if isinstance(model_schema, dict):
        return model_schema
    if callable(getattr(model_schema, "to_dict", None)):
        return json.loads(json.dumps(model_schema, default=vars, sort_keys=True))
    raise TypeError(
        f"model_schema of type {type(model_schema)} is not supported; use hsml.schema.Schema, "
        "hsml.model_schema.ModelSchema or a dict"
    )


def _schema_from_features(features: list[Any]) -> dict:
    """``ModelSchema(input_schema=Schema(features), output_schema=Schema(labels)).to_dict()`` as
    ``hsml.model.Model.save`` builds it from a training dataset's features: columns of name and type."""
    schema = {}
    for key, wanted in (("input_schema", False), ("output_schema", True)):
        columns = [{"name": str(f.name), "type": str(f.type)} for f in features if bool(f.label) is wanted]
        if columns:
            schema[key] = {"columnar_schema": columns}
    return schema


def _feature_view_ref(feature_view: Any) -> dict:
    """Provenance: which feature view (name and version) the model was trained on."""
    try:
        return {"name": feature_view.name, "version": feature_view.version}
    except AttributeError:
        raise TypeError(
            f"feature_view must be a feature view (with a name and a version), got {type(feature_view)}"
        ) from None


def _to_json(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot store {type(value).__name__} as JSON: {exc}") from None


def _json_default(value: Any) -> Any:
    """numpy values and timestamps, written as hsml's ``util.NumpyEncoder`` writes them."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if callable(getattr(value, "tolist", None)):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)
