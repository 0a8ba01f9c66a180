"""Every example patient under examples/ loads, and says it is fictitious."""

from __future__ import annotations

from pathlib import Path

import pytest

from imln.schema import load_patient, normalise

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


def test_examples_present() -> None:
    names = {p.name for p in EXAMPLES}
    assert {
        "early_lateral_n0.yaml",
        "medial_4plus_nodes.yaml",
        "after_nac_mri_positive.yaml",
        "followup_implant_enlarged_imln.yaml",
    } <= names
    with_cardiac = [p for p in EXAMPLES if load_patient(p).cardiac is not None]
    assert len(with_cardiac) >= 2


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_loads(path: Path) -> None:
    assert path.read_text(encoding="utf-8").startswith("# Fictitious patient")
    patient = load_patient(path)
    assert normalise(patient)["derived"]["medial_lateral"] is not None


def test_example_contents() -> None:
    by_name = {p.name: load_patient(p) for p in EXAMPLES}
    early = by_name["early_lateral_n0.yaml"]
    assert (early.age_years, early.medial_lateral, early.positive_axillary_nodes) == (58, "lateral", 0)
    medial = by_name["medial_4plus_nodes.yaml"]
    assert (medial.medial_lateral, medial.positive_axillary_nodes, medial.examined_axillary_nodes) == ("medial", 5, 14)
    nac = by_name["after_nac_mri_positive.yaml"]
    mri = nac.findings[0]
    assert (nac.setting, mri.modality, mri.short_axis_mm, mri.intercostal_space) == ("after_nac", "mri", 7, 2)
    follow = by_name["followup_implant_enlarged_imln.yaml"]
    assert follow.setting == "follow_up" and follow.implant_reconstruction is True
