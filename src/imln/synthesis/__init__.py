"""Meta-analysis of diagnostic test accuracy: the bivariate (Reitsma) model, as R ``mada::reitsma``."""

from .reitsma import MIN_STUDIES_BIVARIATE, Estimate, HSROC, ReitsmaFit, TwoByTwo, fit_reitsma, prepare_cells

__all__ = ["MIN_STUDIES_BIVARIATE", "Estimate", "HSROC", "ReitsmaFit", "TwoByTwo", "fit_reitsma", "prepare_cells"]
