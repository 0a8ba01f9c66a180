"""Shared fixtures: the Rotterdam data, the reference model, and R's frozen (or fresh) outputs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from imln.modeling import LogisticModel

DATA = Path(__file__).parent / "data"
FROZEN = DATA / "r_reference"
FORMULA = "rcs(age, 4) + meno + cat(size, ref='<=20') + grade + log1p(pgr) + log1p(er)"
R_FORMULA = "nodepos ~ rcs(age, 4) + meno + size + grade + log1p(pgr) + log1p(er)"
HAVE_R = shutil.which("Rscript") is not None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "r_live: runs R (Rscript) and compares with its fresh output")


@pytest.fixture(scope="session")
def rotterdam() -> pd.DataFrame:
    """survival::rotterdam (2,982 patients) with nodepos = any positive axillary node."""
    d = pd.read_csv(DATA / "rotterdam.csv")
    d["nodepos"] = (d["nodes"] > 0).astype(int)
    return d


@pytest.fixture(scope="session")
def model(rotterdam: pd.DataFrame) -> LogisticModel:
    return LogisticModel(FORMULA).fit(rotterdam, "nodepos")


@pytest.fixture(scope="session")
def penalised_model(rotterdam: pd.DataFrame) -> LogisticModel:
    return LogisticModel(FORMULA, penalty=5).fit(rotterdam, "nodepos")


def read_reference(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, keep_default_na=True)


@pytest.fixture(scope="session")
def fresh_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run make_reference.R now (only when Rscript exists)."""
    if not HAVE_R:
        pytest.skip("Rscript not installed (apt-get install r-base-core r-cran-rms r-cran-survival)")
    out = tmp_path_factory.mktemp("r_reference")
    subprocess.run(["Rscript", str(DATA / "make_reference.R"), str(out)], check=True, capture_output=True,
                   timeout=600)
    return out
