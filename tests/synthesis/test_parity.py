"""Parity with R on mada's datasets, against the frozen R outputs (no R needed).

R code (data/make_reference.R; the live versions are in test_r_live.py)::

    library(mada)
    fit <- reitsma(Dementia)                       # and control = list(reltol = 1e-14)
    coef(fit); sqrt(diag(vcov(fit))); vcov(fit); fit$Psi; logLik(fit); AIC(fit); BIC(fit)
    summary(fit)$coefficients[c("sensitivity", "false pos. rate"), c(1, 5, 6)]
    mada:::calc_hsroc_coef(fit); sroc(fit)[, 2]; AUC(fit)
    mada:::ROC.ellipse2(fit, add = FALSE)$ROCellipse
    ellipse::ellipse(fit$Psi + vcov(fit), centre = fit$coefficients["(Intercept)", ], level = 0.95)
    reitsma(smoking, formula = cbind(tsens, tfpr) ~ type)
    reitsma(Dementia, correction.control = "single")

    library(metafor)   # long format, 0.5 added to every cell when any cell is zero
    rma.mv(yi, vi, mods = ~ outcome - 1, random = ~ outcome | study, struct = "UN", method = "REML")
    rma(yi, vi, method = "REML")                   # each margin: the univariate fallback
"""

from __future__ import annotations

import pandas as pd

from . import _parity


def test_mada_bivariate(frozen: pd.DataFrame, datasets: dict[str, pd.DataFrame]) -> None:
    _parity.check_mada(frozen, datasets)


def test_mada_meta_regression(frozen: pd.DataFrame, datasets: dict[str, pd.DataFrame]) -> None:
    _parity.check_mada_regression(frozen, datasets["smoking"])


def test_mada_single_study_correction(frozen: pd.DataFrame, datasets: dict[str, pd.DataFrame]) -> None:
    _parity.check_mada_single(frozen, datasets)


def test_metafor_bivariate(frozen: pd.DataFrame, datasets: dict[str, pd.DataFrame]) -> None:
    _parity.check_metafor(frozen, datasets)


def test_metafor_univariate(frozen: pd.DataFrame, datasets: dict[str, pd.DataFrame]) -> None:
    _parity.check_univariate(frozen, datasets)


def test_frozen_versions_recorded() -> None:
    from .conftest import FROZEN

    versions = (FROZEN / "versions.txt").read_text()
    assert "mada 0.5.12" in versions and "metafor" in versions
