"""Templates, static files and migrations must be installed with the package (pyproject package-data)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGES = {"imln.api": ROOT / "src/imln/api", "imln.report": ROOT / "src/imln/report",
            "imln.storage": ROOT / "src/imln/storage", "imln.decision": ROOT / "src/imln/decision",
            "imln.risk": ROOT / "src/imln/risk", "imln.imaging": ROOT / "src/imln/imaging",
            "imln.evidence": ROOT / "src/imln/evidence"}


def test_data_files_are_declared_as_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = config["tool"]["setuptools"].get("package-data", {})
    missing = []
    for package, folder in PACKAGES.items():
        globs = package_data.get(package, [])
        for path in folder.rglob("*"):
            if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            rel = path.relative_to(folder).as_posix()
            if not any(fnmatch.fnmatch(rel, g) for g in globs):
                missing.append(f"{package}: {rel}")
    assert not missing, "add to [tool.setuptools.package-data] in pyproject.toml: " + ", ".join(missing)
