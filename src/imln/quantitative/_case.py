"""One case end to end: read image and mask, check them, measure, convert SUV, make the finding."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imln.evidence import Modality
from imln.quantitative._errors import ModalityError
from imln.quantitative._findings import PET_MODALITIES, parse_modality, to_finding
from imln.quantitative._io import Volume, read_image, read_mask
from imln.quantitative._measure import (
    Connectivity,
    NodeMeasurement,
    RibLevels,
    Split,
    load_rib_levels,
    measure_nodes,
)
from imln.quantitative._suv import SUVFactor, suv_volume
from imln.schema import ImagingFinding

__all__ = ["CaseMeasurement", "measure_case"]


@dataclass(frozen=True)
class CaseMeasurement:
    """Everything measured for one image/mask pair, and the finding made from it."""

    image: str
    mask: str
    modality: Modality
    nodes: list[NodeMeasurement]
    finding: ImagingFinding
    suv: SUVFactor | None = None
    grid: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``findings`` (a list with the one finding, as in a patient file), nodes, inputs, notes."""
        return {
            "findings": [self.finding.model_dump(mode="json", exclude_none=True)],
            "nodes": [n.to_dict() for n in self.nodes],
            "inputs": {"image": self.image, "mask": self.mask, "modality": self.modality.value, "grid": self.grid},
            "suv": None if self.suv is None else self.suv.to_dict(),
            "notes": list(self.notes),
        }


def measure_case(
    image: str | Path,
    mask: str | Path,
    *,
    modality: str | Modality,
    roi: str | Sequence[str] | None = None,
    labels: Sequence[int] | None = None,
    split: Split = "auto",
    connectivity: Connectivity = "face",
    rib_levels: RibLevels | str | Path | None = None,
    image_is_suv: bool = False,
    side: str | None = None,
    date: _dt.date | str | None = None,
    series_uid: str | None = None,
) -> CaseMeasurement:
    """Read ``image`` and ``mask`` (see :func:`read_image`, :func:`read_mask`) and measure every node.

    For ``pet_ct``/``pet_mri`` the image must be the PET (the mask on its grid): a DICOM
    series whose headers give SUV, or any image whose voxels already hold SUVbw
    (``image_is_suv=True``). For other modalities a PET image is refused.
    """
    m = parse_modality(modality)
    vol = read_image(image, series_uid=series_uid)
    if m not in PET_MODALITIES and vol.modality == "PT":
        raise ModalityError(
            f"the image is a PET series (DICOM Modality 'PT') but the modality given is {m.value!r}; use pet_ct or "
            "pet_mri",
            source=vol.source,
            field="modality",
        )
    if m in PET_MODALITIES and vol.modality not in (None, "PT") and not image_is_suv:
        raise ModalityError(
            f"modality {m.value} needs the PET image for SUV, but this DICOM series is Modality {vol.modality!r}; "
            "give the PET series (with the mask on its grid)",
            source=vol.source,
            field="Modality",
        )
    msk = read_mask(mask, vol, roi=roi)
    levels = load_rib_levels(rib_levels) if isinstance(rib_levels, (str, Path)) else rib_levels
    suv_map: Volume | None = None
    factor: SUVFactor | None = None
    notes = [*vol.notes, *msk.notes]
    if m in PET_MODALITIES:
        if image_is_suv:
            suv_map = vol
            notes.append("image voxels taken as SUVbw as stated (no DICOM conversion)")
        else:
            suv_map, factor = suv_volume(vol)
            notes.extend(factor.notes)
    nodes = measure_nodes(msk, labels=labels, split=split, connectivity=connectivity, rib_levels=levels, suv=suv_map)
    finding, finding_notes = to_finding(nodes, m, side=side, date=date, source=str(mask))
    notes.extend(finding_notes)
    grid = {
        "size": list(vol.size),
        "spacing_mm": list(vol.spacing),
        "origin_mm": list(vol.origin),
        "direction": [list(map(float, row)) for row in vol.direction.T],
    }
    return CaseMeasurement(str(image), str(mask), m, nodes, finding, factor, grid, notes)

