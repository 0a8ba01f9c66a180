"""The clinical acceptance suite: imln's recommendation for every vignette against guideline-acceptable classes.

Target (issue 15): no unacceptable recommendation and at least 90% acceptable. The concordance table is
written to ``$IMLN_TEST_ARTIFACTS/clinical-concordance.md`` (a temporary folder otherwise), and the copy
in ``docs/clinical-concordance.md`` must be the current one (regenerate it with
``imln vignettes tests/clinical/vignettes --markdown > docs/clinical-concordance.md``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import imln
from imln.decision import load_vignettes, run_vignettes

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
VIGNETTES = HERE / "vignettes"


@pytest.fixture(scope="module")
def vignettes():
    return load_vignettes(VIGNETTES)


@pytest.fixture(scope="module")
def concordance(vignettes, tmp_path_factory):
    result = run_vignettes(vignettes)
    folder = Path(os.environ.get("IMLN_TEST_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clinical-concordance.md").write_text(result.markdown(), encoding="utf-8")
    return result


def test_the_suite_covers_every_setting(vignettes):
    assert len(vignettes) >= 50
    groups = {v.setting_group for v in vignettes}
    assert groups == {"diagnosis", "after_nac", "after_surgery", "follow_up"}
    for g in groups:
        assert sum(v.setting_group == g for v in vignettes) >= 6, g


def test_every_vignette_is_a_valid_patient_in_its_setting(vignettes):
    for v in vignettes:
        p = imln.load_patient(v.patient)
        assert p.setting.value == v.setting_group, v.id
        assert not set(v.acceptable) & set(v.unacceptable), v.id


def test_no_recommendation_is_unacceptable(concordance):
    bad = [r for r in concordance.results if r.verdict in ("unacceptable", "no recommendation")]
    assert not bad, "\n".join(f"{r.id}: imln {r.imln}, acceptable {r.expected} ({r.reason})" for r in bad)


def test_at_least_ninety_percent_are_acceptable(concordance):
    off = [f"{r.id}: imln {r.imln}, acceptable {r.expected}" for r in concordance.results if r.verdict != "acceptable"]
    assert concordance.acceptable_share >= 0.90, "\n".join(off)


def test_the_documented_table_is_current(concordance):
    documented = (ROOT / "docs" / "clinical-concordance.md").read_text(encoding="utf-8")
    assert concordance.markdown() in documented, (
        "docs/clinical-concordance.md is out of date: regenerate it with "
        "`imln vignettes tests/clinical/vignettes --markdown`")
