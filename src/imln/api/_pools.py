"""The web page of a modality's accuracy pools: which studies, which model, what a new study may show, and why
each record of the modality is or is not pooled. Linked from every imaging finding read through a pool."""

from __future__ import annotations

import io
from typing import Any

from imln.evidence import Modality, Setting, audit_evidence, load_evidence

#: Unit names as the pool ids print them.
UNITS = ("patients", "nodes")


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]  # drop the XML prologue: inline in HTML


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def pool_page(modality: str, setting: str | None = None, unit: str | None = None) -> dict[str, Any]:
    """Template context of the pools of ``modality`` (optionally one setting and unit); ValueError names a bad part."""
    from imln.synthesis import forest_plot, sroc_plot
    from imln.synthesis.evidence import _predictive, accuracy_pools

    allowed = ", ".join(m.value for m in Modality)
    if modality not in {m.value for m in Modality}:
        raise ValueError(f"modality must be one of {allowed}; got {modality!r}")
    if setting is not None and setting not in {s.value for s in Setting}:
        raise ValueError(f"setting must be one of {', '.join(s.value for s in Setting)}; got {setting!r}")
    if unit is not None and unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}; got {unit!r}")
    evidence = load_evidence()
    report = accuracy_pools(modality, setting, evidence=evidence, audit=audit_evidence(evidence))
    labels = {key: ref.label for key, ref in evidence.references.items()}
    pools = []
    for pool in report.pools:
        if unit is not None and pool.unit != unit:
            continue
        rows = [{"record_id": s.record_id, "citation": labels.get(s.citation, s.citation), "setting": s.setting,
                 "tp": s.tp, "fp": s.fp, "fn": s.fn, "tn": s.tn,
                 "sensitivity": _pct(s.tp / (s.tp + s.fn)) if s.tp + s.fn else "—",
                 "specificity": _pct(s.tn / (s.tn + s.fp)) if s.tn + s.fp else "—"} for s in pool.studies]
        entry: dict[str, Any] = {"unit": pool.unit, "note": pool.note, "studies": rows, "fit": None}
        forest = forest_plot([s.tp for s in pool.studies], [s.fp for s in pool.studies], [s.fn for s in pool.studies],
                             [s.tn for s in pool.studies], labels=[s.record_id for s in pool.studies], fit=pool.fit,
                             title=f"{modality}, {pool.unit}: each study's sensitivity and specificity")
        entry["forest_svg"] = _svg(forest)
        if pool.fit is not None:
            summary = pool.fit.summary()
            predictive = _predictive(pool.fit)
            entry["fit"] = {
                "model": summary["model"],
                "sensitivity": summary["sensitivity"], "specificity": summary["specificity"],
                "lr_positive": summary["lr_positive"], "lr_negative": summary["lr_negative"],
                "predictive": predictive,
            }
            if hasattr(pool.fit, "psi"):
                entry["sroc_svg"] = _svg(sroc_plot(pool.fit, title=f"{modality}, {pool.unit}: SROC"))
        pools.append(entry)
    return {
        "modality": modality, "setting": setting, "unit": unit, "pools": pools,
        "excluded": [{"record": r, "reason": why} for r, why in report.excluded],
        "evidence_version": evidence.version,
        "json_href": f"/api/v1/evidence/pools/{modality}" + (f"?setting={setting}" if setting else ""),
    }
