"""Fixtures for the synthesis tests: mada's datasets, R's frozen outputs and (when R exists) fresh ones.

The frozen outputs in ``data/mada_reference`` were written by ``data/make_reference.R`` with
R 4.2.2, mada 0.5.12 (built from CRAN's sources; Debian has no r-cran-mada) and metafor 3.8.1
(Debian's r-cran-metafor); ``versions.txt`` records them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).parent / "data"
FROZEN = DATA / "mada_reference"
DATASETS = ("AuditC", "Dementia", "IAQ", "SAQ", "smoking")
HAVE_R = shutil.which("Rscript") is not None


def r_has(package: str) -> bool:
    if not HAVE_R:
        return False
    run = subprocess.run(["Rscript", "-e", f"quit(status = !requireNamespace('{package}', quietly = TRUE))"],
                         capture_output=True, timeout=120)
    return run.returncode == 0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "r_live: runs R (Rscript) and compares with its fresh output")


def need_r(package: str, *, required_in_ci: bool) -> None:
    """Skip without R/package on a developer machine; FAIL under CI when ``required_in_ci``."""
    if r_has(package):
        return
    reason = f"R package {package!r} not available (Rscript: {'yes' if HAVE_R else 'no'})"
    if required_in_ci and os.environ.get("CI"):
        pytest.fail(f"{reason} under CI: .ci/run installs r-base-core r-cran-metafor")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def datasets() -> dict[str, pd.DataFrame]:
    """mada 0.5.12's bundled datasets (data/*.rda), exported to CSV by data/export_mada_data.R."""
    return {name: pd.read_csv(DATA / f"{name}.csv") for name in DATASETS}


@pytest.fixture(scope="session")
def frozen() -> pd.DataFrame:
    return pd.read_csv(FROZEN / "reference.csv")


def run_reference(out: Path, what: str) -> pd.DataFrame:
    subprocess.run(["Rscript", str(DATA / "make_reference.R"), str(out), what], check=True, capture_output=True,
                   timeout=600)
    return pd.read_csv(out / "reference.csv")


@pytest.fixture(scope="session")
def fresh_metafor(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    need_r("metafor", required_in_ci=True)
    return run_reference(tmp_path_factory.mktemp("metafor"), "metafor")


@pytest.fixture(scope="session")
def fresh_mada(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    need_r("mada", required_in_ci=False)
    return run_reference(tmp_path_factory.mktemp("mada"), "mada")
