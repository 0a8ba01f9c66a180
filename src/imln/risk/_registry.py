"""Which risk models exist: the ones imln ships and the ones a user has added.

Bundled models live in ``imln/risk/models``; a user's models are copied into
``$IMLN_MODELS_DIR`` (default: the platform's user data folder, ``…/imln/models``).
Adding a model validates it first, so a broken file never enters the registry.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from imln.risk._spec import ModelSpec, ModelSpecError, load_model_spec

__all__ = ["DEFAULT_MODEL_ID", "ModelEntry", "add_model", "get_model", "list_models", "user_models_dir"]

BUNDLED_DIR = Path(__file__).parent / "models"
DEFAULT_MODEL_ID = "imln-erm-joint"


def user_models_dir() -> Path:
    """Where ``imln models add`` stores a user's models."""
    configured = os.environ.get("IMLN_MODELS_DIR")
    if configured:
        return Path(configured)
    from platformdirs import user_data_path

    return user_data_path("imln") / "models"


@dataclass(frozen=True)
class ModelEntry:
    id: str
    version: str
    title: str
    obtained: str
    origin: str  # "bundled" or "user"
    path: Path


@cache
def _load_cached(path: Path, mtime: float) -> ModelSpec:
    return load_model_spec(path)


def _load(path: Path) -> ModelSpec:
    if path.parent == BUNDLED_DIR:
        return _load_bundled(path)
    return _load_cached(path, path.stat().st_mtime)  # a user's file is re-read when it changes


@cache
def _load_bundled(path: Path) -> ModelSpec:
    return load_model_spec(path)


@cache
def _bundled_files() -> tuple[Path, ...]:
    """The package's own model files: fixed for the life of the process, so listed once."""
    return tuple(sorted(BUNDLED_DIR.glob("*.yaml"))) if BUNDLED_DIR.is_dir() else ()


def _files(origin: str) -> list[Path]:
    if origin == "bundled":
        return list(_bundled_files())
    folder = user_models_dir()
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def list_models() -> list[ModelEntry]:
    """Every registered model, bundled first; a user file that no longer validates is an error."""
    entries = []
    for origin in ("bundled", "user"):
        for path in _files(origin):
            spec = _load(path)
            entries.append(ModelEntry(spec.id, spec.version, spec.title, spec.obtained.value, origin, path))
    return entries


def get_model(model_id: str | None = None) -> ModelSpec:
    """A registered model by id (the bundled default when ``None``)."""
    wanted = model_id or DEFAULT_MODEL_ID
    for origin in ("bundled", "user"):
        for path in _files(origin):
            spec = _load(path)
            if spec.id == wanted:
                return spec
    known = ", ".join(e.id for e in list_models()) or "none"
    raise ModelSpecError(f"no model {wanted!r} is registered; known: {known}")


def add_model(path: str | Path, *, replace: bool = False) -> ModelSpec:
    """Validate a model file and copy it into the user's registry."""
    path = Path(path)
    spec = load_model_spec(path)
    bundled = {_load(p).id for p in _files("bundled")}
    if spec.id in bundled:
        raise ModelSpecError(f"{path}: id {spec.id!r} belongs to a bundled model; choose another id")
    target_dir = user_models_dir()
    target = target_dir / f"{spec.id}.yaml"
    if target.exists() and not replace:
        raise ModelSpecError(f"{path}: a model {spec.id!r} is already registered ({target}); use replace=True")
    target_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".yaml.tmp")
    shutil.copyfile(path, tmp)
    os.replace(tmp, target)
    return spec
