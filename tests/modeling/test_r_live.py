"""The R parity checks against a fresh run of R (skipped when ``Rscript`` is not installed).

Runs ``data/make_reference.R`` into a temporary folder — the same R code the frozen
outputs came from — and repeats every check of ``test_r_parity.py`` on its output,
so the comparison also holds for whatever R/rms version CI installs
(``apt-get install r-base-core r-cran-rms r-cran-survival``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from imln.modeling import LogisticModel

from . import _parity
from .conftest import FROZEN, HAVE_R

pytestmark = [pytest.mark.r_live, pytest.mark.skipif(not HAVE_R, reason="Rscript not installed")]


def test_random_numbers(fresh_reference: Path) -> None:
    _parity.check_sample(fresh_reference)


def test_knots_and_basis(fresh_reference: Path, rotterdam: pd.DataFrame) -> None:
    _parity.check_knots(fresh_reference, rotterdam)
    _parity.check_rcs_basis(fresh_reference)


def test_lrm(fresh_reference: Path, model: LogisticModel, penalised_model: LogisticModel) -> None:
    _parity.check_lrm(fresh_reference, model)
    _parity.check_lrm_penalised(fresh_reference, penalised_model)


def test_validate(fresh_reference: Path, model: LogisticModel, penalised_model: LogisticModel) -> None:
    _parity.check_validate_boot(fresh_reference, model)
    _parity.check_validate_crossvalidation(fresh_reference, model)
    _parity.check_validate_penalised(fresh_reference, penalised_model)


def test_calibrate_and_lowess(fresh_reference: Path, model: LogisticModel) -> None:
    _parity.check_calibrate(fresh_reference, model)
    _parity.check_lowess(fresh_reference)


def test_nomogram(fresh_reference: Path, model: LogisticModel) -> None:
    _parity.check_nomogram(fresh_reference, model)
    _parity.check_pretty(fresh_reference)


def test_frozen_outputs_have_the_layout_r_writes(fresh_reference: Path) -> None:
    """Every frozen file still has the columns and shape make_reference.R writes (stale files fail here)."""
    for path in sorted(FROZEN.glob("*.csv")):
        old = pd.read_csv(path)
        new = pd.read_csv(fresh_reference / path.name)
        assert list(old.columns) == list(new.columns), path.name
        assert old.shape == new.shape, path.name
