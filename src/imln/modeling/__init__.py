"""Researchers' workbench: fit, validate, calibrate, nomograms, decision curves, external validation.

Matches R's ``rms`` (``lrm``, ``validate``, ``calibrate``, ``nomogram``) on the same
data — with ``rng="R"``, bootstrap resamples are the ones R draws after
``set.seed(seed)`` — and ``dcurves`` for net benefit.

Example (``cohort`` is a pandas DataFrame, one row per patient)::

    from imln.modeling import LogisticModel, validate, calibrate
    model = LogisticModel("rcs(age, 4) + cat(size) + grade + log1p(pgr)").fit(cohort, outcome="imln")
    validate(model, B=200, seed=1).table        # rms::validate layout
    calibrate(model, B=200, seed=1).describe()  # rms::calibrate, mean absolute error etc.

The same is available on the command line as ``imln model fit|validate|calibrate|
nomogram|dca|threshold|external|report`` (``imln.modeling._cli.app``).
"""

from imln.modeling._calibrate import CalibrationCurve, calibrate, plot_calibration
from imln.modeling._decision_curve import decision_curve, plot_decision_curve
from imln.modeling._design import CompleteCaseReport, ModelingInputError, parse_formula
from imln.modeling._export import CoefficientModel, model_to_dict, to_model_spec
from imln.modeling._external import (
    ExternalValidationResult,
    external_validation,
    plot_external_calibration,
)
from imln.modeling._fit import ConvergenceError, LogisticModel
from imln.modeling._nomogram import Nomogram, nomogram, plot_nomogram
from imln.modeling._report import write_report
from imln.modeling._threshold import ThresholdReport, threshold_report
from imln.modeling._validate import ValidationResult, validate

__all__ = [
    "CalibrationCurve",
    "CoefficientModel",
    "CompleteCaseReport",
    "ConvergenceError",
    "ExternalValidationResult",
    "LogisticModel",
    "ModelingInputError",
    "Nomogram",
    "ThresholdReport",
    "ValidationResult",
    "calibrate",
    "decision_curve",
    "external_validation",
    "model_to_dict",
    "nomogram",
    "parse_formula",
    "plot_calibration",
    "plot_decision_curve",
    "plot_external_calibration",
    "plot_nomogram",
    "threshold_report",
    "to_model_spec",
    "validate",
    "write_report",
]
