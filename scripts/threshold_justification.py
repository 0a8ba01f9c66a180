"""The probability the pre-test model gives each guideline indication group, against the default thresholds.

The thresholds in ``src/imln/decision/data/thresholds.yaml`` are stated choices; this script shows what they
mean under the guidelines: for a grid of after-surgery patients (age, positive axillary nodes, tumour size
and site; grade 2, ER-positive, no LVI, 12 nodes examined) it prints, for each indication group, the range
of pre-test probabilities of the default risk model and which class the thresholds alone would give.

    python scripts/threshold_justification.py            # Markdown table
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict

import imln
from imln.decision import assess_indications, default_thresholds
from imln.risk import predict_risk

AGES = (35, 45, 60, 75)
NODES = (0, 2, 5, 9)
SIZES = (12, 30, 60)
QUADRANTS = ("UOQ", "UIQ", "central")


def grid():
    for age, nodes, size, quadrant in itertools.product(AGES, NODES, SIZES, QUADRANTS):
        yield imln.load_patient({
            "age_years": age, "laterality": "left", "setting": "after_surgery", "tumor_size_mm": size,
            "tumor_location": {"quadrant": quadrant}, "positive_axillary_nodes": nodes,
            "examined_axillary_nodes": 12, "grade": 2, "er_status": "positive", "lvi": False,
            "clinical_n_stage": "cN0" if nodes == 0 else "cN1",
        })


def main() -> None:
    evidence = imln.load_evidence()
    th = default_thresholds()
    by_group: dict[str, list[float]] = defaultdict(list)
    model = None
    for p in grid():
        r = predict_risk(p)
        model = f"{r.model_id} {r.model_version}"
        by_group[assess_indications(p, evidence).group].append(r.probability)
    print(f"Pre-test model {model}; thresholds omit_below {th.omit_below:g}, radiotherapy_at "
          f"{th.radiotherapy_at:g} (version {th.version}).\n")
    print("| indication group | patients on the grid | model probability: min | median | max |"
          " share ≥ radiotherapy_at | share < omit_below |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for group in ("not_indicated", "consider", "recommended", "imn_disease", "undetermined"):
        ps = by_group.get(group)
        if not ps:
            continue
        above = sum(x >= th.radiotherapy_at for x in ps) / len(ps)
        below = sum(x < th.omit_below for x in ps) / len(ps)
        print(f"| {group} | {len(ps)} | {min(ps):.1%} | {statistics.median(ps):.1%} | {max(ps):.1%} | "
              f"{above:.0%} | {below:.0%} |")


if __name__ == "__main__":
    main()
