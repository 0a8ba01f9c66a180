"""Figures: Fagan positions on the log-odds scale, and valid PNG/SVG files."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest
from numpy.testing import assert_allclose

from imln.imaging import FaganData, assess_imaging, fagan_data, plot_fagan, plot_prepost, prepost_data, save_figures
from imln.schema import load_patient

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def logit(p: float) -> float:
    return math.log(p / (1 - p))


@pytest.fixture(scope="module")
def assessment():
    p = load_patient({"age_years": 50, "laterality": "left", "setting": "diagnosis", "findings": [
        {"modality": "mri", "short_axis_mm": 7, "long_axis_mm": 9}, {"modality": "us", "short_axis_mm": 3}]})
    return assess_imaging(p, 0.2, n_draws=4_000)


class TestFaganData:
    def test_positions_follow_the_formula(self):
        """pre 0.2: y = −logit(0.2) = ln 4 = 1.386294; LR 4.5: y = ln(4.5)/2 = 0.752039;
        post-odds 0.25 × 4.5 = 1.125, post = 1.125/2.125 = 0.529412, y = ln 1.125 = 0.117783."""
        data = fagan_data(0.2, [4.5])
        (line,) = data.lines
        assert_allclose(line.y_pretest, math.log(4), rtol=1e-12)
        assert_allclose(line.y_lr, math.log(4.5) / 2, rtol=1e-12)
        assert_allclose(line.posttest, 1.125 / 2.125, rtol=1e-12)
        assert_allclose(line.y_posttest, math.log(1.125), rtol=1e-12)
        # collinear: the LR axis (x = 0) is midway between x = −1 and x = +1
        assert_allclose(line.y_lr, (line.y_pretest + line.y_posttest) / 2, rtol=1e-12)

    def test_ticks(self):
        data = fagan_data(0.2, [4.5])
        for p, yl, yr in zip(data.probability_ticks, data.y_pretest_ticks, data.y_posttest_ticks):
            assert_allclose((yl, yr), (-logit(p), logit(p)), rtol=1e-12)
        assert_allclose(data.y_lr_ticks, [math.log(x) / 2 for x in data.lr_ticks], rtol=1e-12)
        assert data.ylim[0] < min(data.y_pretest_ticks) and data.ylim[1] > max(data.y_posttest_ticks)

    def test_chain_of_findings(self):
        data = fagan_data(0.1, [8.0, 0.25], labels=["a", "b"])
        first, second = data.lines
        assert second.pretest == pytest.approx(first.posttest)
        # logit(post) = logit(0.1) + ln 8 + ln 0.25 = ln(1/9 × 2)
        assert_allclose(second.y_posttest, math.log(2 / 9), rtol=1e-12)

    def test_from_assessment(self, assessment):
        data = FaganData.from_assessment(assessment)
        assert len(data.lines) == 2
        assert_allclose(data.lines[-1].posttest, assessment.posttest.point, rtol=1e-12)
        assert data.posttest_interval == (assessment.posttest.lower, assessment.posttest.upper)
        assert_allclose(data.y_posttest_interval, [logit(x) for x in data.posttest_interval], rtol=1e-12)

    def test_prepost_data(self, assessment):
        data = prepost_data(assessment)
        assert data.labels[0] == "pre-test" and len(data.point) == 3
        assert data.point[-1] == assessment.posttest.point

    def test_bad_input(self):
        with pytest.raises(ValueError, match="pretest must be a probability"):
            fagan_data(1.0, [2.0])
        with pytest.raises(ValueError, match="likelihood_ratios must be finite positive"):
            fagan_data(0.2, [0.0])


class TestFiles:
    def test_png_and_svg_written(self, assessment, tmp_path):
        paths = save_figures(assessment, tmp_path / "figs")
        assert sorted(p.name for p in paths) == [
            "fagan_nomogram.png", "fagan_nomogram.svg", "pretest_posttest.png", "pretest_posttest.svg"]
        for path in paths:
            data = path.read_bytes()
            assert len(data) > 1000
            if path.suffix == ".png":
                assert data.startswith(PNG_SIGNATURE)
            else:
                root = ET.fromstring(data)
                assert root.tag.endswith("svg")

    def test_svg_is_reproducible(self, assessment, tmp_path):
        (a,) = save_figures(assessment, tmp_path / "a", formats=("svg",))[:1]
        (b,) = save_figures(assessment, tmp_path / "b", formats=("svg",))[:1]
        assert a.read_bytes() == b.read_bytes()

    def test_no_pretest_no_figures(self, tmp_path):
        p = load_patient({"age_years": 50, "laterality": "left", "setting": "diagnosis",
                          "findings": [{"modality": "us", "result": "positive"}]})
        assert save_figures(assess_imaging(p, None, n_draws=1_000), tmp_path) == []

    def test_bad_format(self, assessment, tmp_path):
        with pytest.raises(ValueError, match="formats must be a non-empty selection of png, svg, pdf"):
            save_figures(assessment, tmp_path, formats=("gif",))

    def test_draw_on_given_axes(self, assessment):
        from matplotlib.figure import Figure

        fig = Figure()
        left, right = fig.subplots(1, 2)
        assert plot_fagan(FaganData.from_assessment(assessment), ax=left) is left
        assert plot_prepost(prepost_data(assessment), ax=right) is right
        assert left.lines and right.lines
