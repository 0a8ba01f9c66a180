"""The comparisons with R, shared by the frozen (test_parity.py) and live (test_r_live.py) tests.

Tolerance: 1e-4 absolute on every quantity (issue 17). Against mada's default optimiser
(mvmeta's BFGS, reltol 1.5e-8) the largest difference seen is ~4e-6 (in Ψ); against mada run
with reltol 1e-14 ("tight") it is ~4e-8: the differences are mada's stopping rule, not ours.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from imln.synthesis import ReitsmaFit, fit_reitsma, fit_univariate

TOL = 1e-4


def reference(ref: pd.DataFrame, dataset: str, model: str, quantity: str) -> np.ndarray:
    rows = ref[(ref.dataset == dataset) & (ref.model == model) & (ref.quantity == quantity)].sort_values("index")
    assert len(rows), f"no R output for {dataset}/{model}/{quantity}"
    return rows.value.to_numpy()


def ours_mada(fit: ReitsmaFit) -> dict[str, np.ndarray]:
    """Our fit in the layout make_reference.R writes (R matrices column-major)."""
    cr, pr = fit.confidence_region(), fit.prediction_region()
    return {
        "coef": fit.coefficients,
        "se": fit.se,
        "vcov": fit.vcov.ravel(order="F"),
        "psi": fit.psi.ravel(order="F"),
        "loglik": np.array([fit.loglik]),
        "aic": np.array([fit.aic]),
        "bic": np.array([fit.bic]),
        "summary_sens": np.array([fit.sensitivity.estimate, fit.sensitivity.lower, fit.sensitivity.upper]),
        "summary_fpr": np.array([fit.false_positive_rate.estimate, fit.false_positive_rate.lower,
                                 fit.false_positive_rate.upper]),
        "hsroc": np.array(list(fit.hsroc.__dict__.values())),
        "sroc": fit.sroc().sensitivity.to_numpy(),
        "auc": np.array(fit.auc()),
        "conf_region": np.r_[cr.fpr, cr.sensitivity],
        "pred_region": np.r_[pr.fpr, pr.sensitivity],
    }


def max_differences_mada(ref: pd.DataFrame, datasets: dict[str, pd.DataFrame], model: str) -> pd.DataFrame:
    """Max |ours − mada| per dataset and quantity (model = mada_default or mada_tight)."""
    out = {}
    for name, d in datasets.items():
        ours = ours_mada(fit_reitsma(d.TP, d.FP, d.FN, d.TN))
        out[name] = {q: float(np.max(np.abs(v - reference(ref, name, model, q)))) for q, v in ours.items()}
    return pd.DataFrame(out)


def check_mada(ref: pd.DataFrame, datasets: dict[str, pd.DataFrame]) -> None:
    for model in ("mada_default", "mada_tight"):
        diff = max_differences_mada(ref, datasets, model)
        assert (diff < TOL).all().all(), f"{model}:\n{diff}"


def check_mada_regression(ref: pd.DataFrame, smoking: pd.DataFrame) -> None:
    fit = fit_reitsma(smoking.TP, smoking.FP, smoking.FN, smoking.TN, covariates=smoking[["type"]])
    assert fit.coef_names == ["tsens.(Intercept)", "tsens.typeSAQ", "tfpr.(Intercept)", "tfpr.typeSAQ"]
    for q, v in {"coef": fit.coefficients, "se": fit.se, "psi": fit.psi.ravel(order="F"),
                 "loglik": np.array([fit.loglik])}.items():
        np.testing.assert_allclose(v, reference(ref, "smoking", "mada_regression", q), rtol=0, atol=TOL, err_msg=q)


def check_mada_single(ref: pd.DataFrame, datasets: dict[str, pd.DataFrame]) -> None:
    """correction.control = "single": 0.5 only to the studies with a zero cell."""
    for name, d in datasets.items():
        fit = fit_reitsma(d.TP, d.FP, d.FN, d.TN, correction_control="single")
        for q, v in {"coef": fit.coefficients, "se": fit.se, "psi": fit.psi.ravel(order="F"),
                     "loglik": np.array([fit.loglik])}.items():
            np.testing.assert_allclose(v, reference(ref, name, "mada_single", q), rtol=0, atol=TOL, err_msg=f"{name} {q}")


def check_metafor(ref: pd.DataFrame, datasets: dict[str, pd.DataFrame]) -> None:
    """Bivariate: metafor::rma.mv(struct = "UN", REML). metafor's REML log-likelihood adds
    ½ log det(X'X) = log k (X = I2 ⊗ 1_k), which mvmeta/mada leave out."""
    for name, d in datasets.items():
        fit = fit_reitsma(d.TP, d.FP, d.FN, d.TN)
        np.testing.assert_allclose(fit.coefficients, reference(ref, name, "metafor", "coef"), atol=TOL, rtol=0)
        np.testing.assert_allclose(fit.se, reference(ref, name, "metafor", "se"), atol=TOL, rtol=0)
        np.testing.assert_allclose(fit.psi.ravel(order="F"), reference(ref, name, "metafor", "psi"), atol=TOL, rtol=0)
        assert abs(fit.loglik_reml + math.log(fit.n_studies) - reference(ref, name, "metafor", "loglik_reml")[0]) < TOL


def check_univariate(ref: pd.DataFrame, datasets: dict[str, pd.DataFrame]) -> None:
    """Each margin against metafor::rma(method = "REML"): all studies, and the first three."""
    for name, d in datasets.items():
        for model, rows in (("metafor_univariate", d), ("metafor_univariate_first3", d.iloc[:3])):
            u = fit_univariate(rows.TP, rows.FP, rows.FN, rows.TN)
            for label, m in (("tsens", u.sens), ("tfpr", u.fpr)):
                np.testing.assert_allclose([m.estimate, m.se, m.tau2], reference(ref, name, model, label),
                                           atol=TOL, rtol=0, err_msg=f"{name} {model} {label}")
