"""A copy of the bundled evidence with SYNTHETIC diagnostic-accuracy records added, for the pooled paths.

The records carry clearly fake citations (``synthetic<i>``) and live only in a temporary folder:
nothing is added to the evidence base. Each record prints its counts and rates so that the audit's
2×2 reconstruction identifies exactly the table given.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import yaml

from imln.evidence import default_data_dir

#: (tp, fp, fn, tn) of four synthetic studies.
SYNTHETIC = [(30, 4, 6, 40), (22, 6, 5, 31), (45, 9, 10, 60), (18, 2, 7, 25)]


def write_synthetic_evidence(folder: Path, modality: str = "mri", setting: str = "newly_diagnosed",
                             tables: Sequence[tuple[int, int, int, int]] = SYNTHETIC) -> Path:
    """Copy the bundled evidence into ``folder`` and add one synthetic primary record per table."""
    shutil.copytree(default_data_dir(), folder, dirs_exist_ok=True)
    refs = yaml.safe_load((folder / "references.yaml").read_text())
    records = yaml.safe_load((folder / "imaging_accuracy.yaml").read_text())
    for i, (tp, fp, fn, tn) in enumerate(tables):
        key = f"synthetic{i}"
        refs["references"][key] = {"authors": ["Synthetic A"], "title": f"SYNTHETIC test study {i}", "journal": "None",
                                   "year": 2000, "access": "full_text", "notes": "test fixture, not a publication"}
        records["records"].append({
            "id": f"synthetic-{modality.replace('_', '-')}-{i}", "kind": "diagnostic_accuracy",
            "measures": "imln_detection_accuracy", "statement": "SYNTHETIC test record.", "citation": key,
            "location": "nowhere", "obtained": "primary", "level": "patient", "setting": setting,
            "population": "synthetic", "modality": modality, "reference_standard": "pathology",
            "values": {
                "n_patients": {"printed": str(tp + fp + fn + tn), "unit": "count"},
                "n_diseased": {"printed": str(tp + fn), "unit": "count"},
                "sensitivity": {"printed": f"{100 * tp / (tp + fn):.2f}%", "unit": "percent"},
                "specificity": {"printed": f"{100 * tn / (tn + fp):.2f}%", "unit": "percent"},
            },
        })
    (folder / "references.yaml").write_text(yaml.safe_dump(refs, allow_unicode=True, sort_keys=False))
    (folder / "imaging_accuracy.yaml").write_text(yaml.safe_dump(records, allow_unicode=True, sort_keys=False))
    return folder
