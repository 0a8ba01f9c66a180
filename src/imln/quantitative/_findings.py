"""Measured nodes → one :class:`imln.schema.ImagingFinding` (the input of ``imln assess``).

The finding carries what was measured, never a call: ``result`` is left out (the
criteria engine decides positive/negative). Its fields:

- ``node_count``: number of nodes measured;
- ``short_axis_mm``/``long_axis_mm``: the axial caliper axes of the node with the
  longest short axis (ties: longest long axis), rounded to 0.1 mm;
- ``intercostal_space``: that node's space, when rib levels were given and it lies in
  spaces 1–6 (the schema's range);
- ``suv_max`` (PET modalities): the highest SUVmax among the nodes, rounded to 0.01.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

from pydantic import ValidationError

from imln.evidence import Modality
from imln.quantitative._errors import ModalityError, QuantitativeError
from imln.quantitative._measure import NodeMeasurement
from imln.schema import ImagingFinding

__all__ = ["PET_MODALITIES", "largest_node", "parse_modality", "to_finding"]

PET_MODALITIES = frozenset({Modality.pet_ct, Modality.pet_mri})


def parse_modality(value: str | Modality) -> Modality:
    """A :class:`Modality` from its value (``mri``, ``ct``, ``pet_ct``, ...), or a clear error."""
    if isinstance(value, Modality):
        return value
    key = str(value).strip().casefold().replace("-", "_").replace("/", "_")
    key = {"ultrasound": "us", "petct": "pet_ct", "petmri": "pet_mri", "spectct": "spect_ct"}.get(key, key)
    try:
        modality = Modality(key)
    except ValueError:
        raise ModalityError(
            f"unknown modality {value!r}; one of: {', '.join(m.value for m in Modality)}", field="modality"
        ) from None
    if modality is Modality.lymphoscintigraphy:
        raise ModalityError(
            "planar lymphoscintigraphy findings carry no node size, so there is nothing to measure",
            field="modality",
        )
    return modality


def largest_node(nodes: Sequence[NodeMeasurement]) -> NodeMeasurement:
    """The node with the longest axial short axis (ties: longest long axis, then lowest node_id)."""
    return max(nodes, key=lambda n: (n.short_axis_mm, n.long_axis_mm, -n.node_id))


def to_finding(
    nodes: Sequence[NodeMeasurement],
    modality: str | Modality,
    *,
    side: str | None = None,
    date: _dt.date | str | None = None,
    source: str | None = None,
) -> tuple[ImagingFinding, list[str]]:
    """The finding for ``nodes`` and notes on what was left out; see the module docstring."""
    m = parse_modality(modality)
    notes: list[str] = []
    if not nodes:
        raise QuantitativeError("no node was measured", source=source, field="node_count")
    big = largest_node(nodes)
    data: dict[str, object] = {
        "modality": m.value,
        "node_count": len(nodes),
        "short_axis_mm": round(big.short_axis_mm, 1),
        "long_axis_mm": round(big.long_axis_mm, 1),
    }
    if big.intercostal_space is not None:
        if 1 <= big.intercostal_space <= 6:
            data["intercostal_space"] = big.intercostal_space
        else:
            notes.append(
                f"node {big.node_id} lies in intercostal space {big.intercostal_space}, outside the finding's "
                "range 1–6; left out"
            )
    elif big.intercostal_note:
        notes.append(f"node {big.node_id}: no intercostal space ({big.intercostal_note})")
    if m in PET_MODALITIES:
        with_suv = [n for n in nodes if n.suv is not None]
        if len(with_suv) != len(nodes):
            raise QuantitativeError(f"modality {m.value} needs SUV for every node", source=source, field="suv_max")
        data["suv_max"] = round(max(n.suv.suv_max for n in with_suv), 2)  # type: ignore[union-attr]
    if side is not None:
        data["side"] = side
    if date is not None:
        data["date"] = date
    try:
        finding = ImagingFinding.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err["loc"]) or "finding"
            problems.append(f"{loc}: {err['msg']} (got {err.get('input')!r})")
        raise QuantitativeError(
            "the measurements do not fit imln's imaging finding: "
            + "; ".join(problems)
            + ". Is the mask an internal mammary node mask with the right labels and voxel spacing?",
            source=source,
            field="finding",
        ) from None
    return finding, notes
