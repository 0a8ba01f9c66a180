"""Nomogram reading and calibration-curve helpers beyond R parity."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from imln.modeling import (
    LogisticModel,
    ModelingInputError,
    calibrate,
    nomogram,
    plot_calibration,
    plot_nomogram,
)

matplotlib.use("Agg")


def test_reading_the_nomogram_gives_the_model_prediction(model: LogisticModel, rotterdam: pd.DataFrame) -> None:
    nomo = nomogram(model)
    rows = rotterdam.sample(25, random_state=1)
    expected = model.predict_proba(rows)
    for (_, row), p in zip(rows.iterrows(), expected, strict=True):
        assert nomo.points_for(row.to_dict())["risk"] == pytest.approx(p, rel=1e-12)


def test_widest_predictor_spans_maxscale(model: LogisticModel) -> None:
    nomo = nomogram(model, maxscale=50)
    spans = [a.points.max() - a.points.min() for a in nomo.axes]
    assert max(spans) == pytest.approx(50)
    assert min(a.points.min() for a in nomo.axes) == 0


def test_given_axis_values_are_used(model: LogisticModel) -> None:
    nomo = nomogram(model, {"age": [30, 50, 70]})
    assert nomo.axes[0].values == (30, 50, 70)
    with pytest.raises(ModelingInputError, match=r"nomogram values given for \['bmi'\], which are not predictors"):
        nomogram(model, {"bmi": [20, 30]})


def test_plots_draw(model: LogisticModel) -> None:
    ax = plot_nomogram(nomogram(model))
    labels = [t.get_text() for t in ax.texts]
    for name in ("Points", "age", "size", "Total points", "Linear predictor"):
        assert name in labels
    curve = calibrate(model, B=4, seed=1)
    ax = plot_calibration(curve)
    assert [line.get_label() for line in ax.get_lines()][:3] == ["Ideal", "Apparent", "Bias-corrected (B=4)"]


def test_calibration_curve_is_reported_with_its_seed(model: LogisticModel) -> None:
    curve = calibrate(model, B=6, seed=9, rng="numpy")
    assert "B=6, seed 9, rng=numpy" in curve.describe()
    assert curve.table.shape == (50, 9)
    assert_allclose(curve.table["calibrated.corrected"],
                    curve.table["calibrated.orig"] - curve.table["optimism"], atol=1e-15)
    assert np.all(curve.table["n"] <= 6)
