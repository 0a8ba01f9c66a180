"""Parity with a fresh run of R (``data/make_reference.R``), so it holds for the R that CI installs.

* metafor (Debian ``r-cran-metafor``): the bivariate model by ``rma.mv`` and the univariate
  fallback by ``rma``. Skipped without R on a developer machine; **fails under CI** (``CI`` set).
* mada (not packaged by Debian; CRAN): run only where ``library(mada)`` loads, else skipped,
  also under CI. The frozen mada outputs (test_parity.py) are always checked.

R code::

    Rscript tests/synthesis/data/make_reference.R OUTDIR metafor   # or mada
    # metafor part, per dataset (0.5 added to every cell when any cell is zero):
    rma.mv(yi, vi, mods = ~ outcome - 1, random = ~ outcome | study, struct = "UN", data = long,
           method = "REML", control = list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-14))
    rma(yi, vi, method = "REML")
    # mada part: reitsma(d); reitsma(d, control = list(reltol = 1e-14)); summary, sroc, AUC, ellipses
"""

from __future__ import annotations

import pandas as pd
import pytest

from . import _parity

pytestmark = pytest.mark.r_live


def test_metafor_bivariate_live(fresh_metafor: pd.DataFrame, datasets: dict[str, pd.DataFrame]) -> None:
    _parity.check_metafor(fresh_metafor, datasets)


def test_metafor_univariate_live(fresh_metafor: pd.DataFrame, datasets: dict[str, pd.DataFrame]) -> None:
    _parity.check_univariate(fresh_metafor, datasets)


def test_mada_live(fresh_mada: pd.DataFrame, datasets: dict[str, pd.DataFrame]) -> None:
    _parity.check_mada(fresh_mada, datasets)
    _parity.check_mada_regression(fresh_mada, datasets["smoking"])
    _parity.check_mada_single(fresh_mada, datasets)
