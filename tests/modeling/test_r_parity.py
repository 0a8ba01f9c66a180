"""imln.modeling against R's frozen outputs (R 4.2.2, rms 6.5-0, Hmisc 4.8-0, survival 3.5-3).

The outputs in ``data/r_reference`` were written by ``data/make_reference.R``; the
R code for each comparison is quoted in its test. Every test uses the Rotterdam
breast cancer data (``survival::rotterdam``, 2,982 patients) with outcome
``nodepos = nodes > 0`` and the model

    nodepos ~ rcs(age, 4) + meno + size + grade + log1p(pgr) + log1p(er)

Tolerances are explained in ``_parity.py``. ``test_r_live.py`` runs the same checks
against a fresh run of R when ``Rscript`` is installed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from imln.modeling import LogisticModel, validate

from . import _parity
from .conftest import FROZEN


class TestRandomNumbers:
    def test_sample_matches_r(self) -> None:
        """R:
        set.seed(42); a <- sample(2982, replace = TRUE); b <- sample(10)
        c1 <- sample(100000, 5, replace = TRUE); c2 <- sample(65536, 3, replace = TRUE)
        set.seed(-7); e1 <- sample(5, 5, replace = TRUE); e2 <- sample(3000)
        """
        _parity.check_sample(FROZEN)


class TestDesign:
    def test_default_knots_match_rcspline_eval(self, rotterdam: pd.DataFrame) -> None:
        """R: for (nk in 3:7) rcspline.eval(d$age, nk = nk, knots.only = TRUE)   # also pgr, er, age[1:80]

        pgr and er have many zeros (fractied rule); 80 rows trigger the n < 100 rule.
        """
        _parity.check_knots(FROZEN, rotterdam)

    def test_spline_basis_matches_rcspline_eval(self) -> None:
        """R: rcspline.eval(d$age[1:25], knots = c(35, 49, 61, 77), inclx = TRUE)"""
        _parity.check_rcs_basis(FROZEN)


class TestLrm:
    def test_coefficients_standard_errors_and_statistics(self, model: LogisticModel) -> None:
        """R:
        f <- lrm(nodepos ~ rcs(age, 4) + meno + size + grade + log1p(pgr) + log1p(er), data = d, x = TRUE, y = TRUE)
        coef(f); sqrt(diag(vcov(f))); f$stats; f$linear.predictors; somers2(f$linear.predictors, f$y)
        """
        _parity.check_lrm(FROZEN, model)

    def test_penalised_fit(self, penalised_model: LogisticModel) -> None:
        """R: fp <- lrm(<same formula>, data = d, x = TRUE, y = TRUE, penalty = 5); coef(fp); vcov(fp); fp$stats"""
        _parity.check_lrm_penalised(FROZEN, penalised_model)


class TestValidate:
    def test_bootstrap_matches_r_with_r_resamples(self, model: LogisticModel) -> None:
        """R: set.seed(1); validate(f, B = 200)

        Apparent indexes exactly; training, test, optimism and corrected to rounding
        error, because rng="R" draws R's resamples.
        """
        _parity.check_validate_boot(FROZEN, model)

    def test_crossvalidation_matches_r(self, model: LogisticModel) -> None:
        """R: set.seed(5); validate(f, method = "crossvalidation", B = 10)"""
        _parity.check_validate_crossvalidation(FROZEN, model)

    def test_penalised_bootstrap_matches_r(self, penalised_model: LogisticModel) -> None:
        """R: set.seed(3); validate(fp, B = 50)   # penalised LR in training, as lrm.fit"""
        _parity.check_validate_penalised(FROZEN, penalised_model)

    def test_independent_resamples_agree_within_monte_carlo_error(self, model: LogisticModel) -> None:
        """R: set.seed(1); validate(f, B = 200)  — against imln with numpy's generator (other resamples).

        The two corrected indexes are independent estimates, each with Monte Carlo SE
        ``sd(training − test)/√B`` (reported by imln); their difference has SE √2 times
        that. We allow 4 such SEs (a 1-in-15,000 false alarm per index). Emax and the
        fixed Intercept/Slope rows of the apparent column are not Monte Carlo quantities
        in the same way and are checked through Intercept and Slope.
        """
        theirs = pd.read_csv(FROZEN / "validate_boot_seed1_B200.csv").set_index("index")
        result = validate(model, B=200, seed=20240601, rng="numpy")
        se = result.monte_carlo_se
        assert se is not None
        for index in se.index:
            diff = abs(result.table.loc[index, "index.corrected"] - theirs.loc[index, "index.corrected"])
            assert diff <= 4 * np.sqrt(2) * se[index] + 1e-12, f"{index}: |diff| {diff:.2e} vs SE {se[index]:.2e}"


class TestCalibrate:
    def test_calibrate_matches_r(self, model: LogisticModel) -> None:
        """R: set.seed(2); cal <- calibrate(f, B = 40); print(cal)   # curve, n, and the error summary"""
        _parity.check_calibrate(FROZEN, model)

    def test_lowess_with_ties_and_approx(self) -> None:
        """R:
        set.seed(11); x <- round(runif(500), 2); y <- rbinom(500, 1, x); l <- lowess(x, y, iter = 0)
        approx(l, xout = seq(0.03, 0.97, length = 40), ties = function(v) v[1])$y
        """
        _parity.check_lowess(FROZEN)


class TestNomogram:
    def test_points_and_axes_match_rms(self, model: LogisticModel) -> None:
        """R: dd <- datadist(d); options(datadist = "dd"); nom <- nomogram(f, fun = plogis)
        nom$age$points; …; nom$total.points$x; nom$lp$x.real; nom$lp$x
        """
        _parity.check_nomogram(FROZEN, model)

    def test_pretty_matches_r(self) -> None:
        """R: pretty(c(24, 90), 10); pretty(c(0, 5004), 10); pretty(c(0.013, 0.97), 5); …"""
        _parity.check_pretty(FROZEN)
