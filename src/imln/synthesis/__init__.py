"""Meta-analysis of diagnostic test accuracy: the bivariate (Reitsma) model, as R ``mada::reitsma``.

``fit_reitsma`` fits the bivariate model (optionally a meta-regression); ``fit_accuracy`` applies
the stated rule: bivariate from 4 studies, separate univariate REML pools below that (or if the
bivariate fit fails). ``forest_plot`` and ``sroc_plot`` draw the figures.
"""

from .plots import forest_plot, sroc_plot
from .reitsma import MIN_STUDIES_BIVARIATE, HSROC, Estimate, ReitsmaFit, TwoByTwo, fit_reitsma, prepare_cells
from .univariate import UnivariateFit, UnivariateRE, fit_accuracy, fit_univariate, reml_univariate

__all__ = [
    "HSROC",
    "MIN_STUDIES_BIVARIATE",
    "Estimate",
    "ReitsmaFit",
    "TwoByTwo",
    "UnivariateFit",
    "UnivariateRE",
    "fit_accuracy",
    "fit_reitsma",
    "fit_univariate",
    "forest_plot",
    "prepare_cells",
    "reml_univariate",
    "sroc_plot",
]
