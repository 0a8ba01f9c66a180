"""Body-weight SUV from DICOM PET headers, following the QIBA vendor-neutral pseudocode.

``SUVbw = activity concentration (Bq/mL) × patient weight (g) / decayed injected dose (Bq)``

- The series must be PET (Modality ``PT``), attenuation- and decay-corrected
  (Corrected Image contains ``ATTN`` and ``DECY``).
- Units ``BQML``: the dose is decayed from the injection time to the scan time with the
  radionuclide half-life in the header. Decay Correction ``START``: the scan time is the
  Series Date/Time, unless that is later than the earliest Acquisition Date/Time of the
  slices (a post-processed series), when GE's private scan time (0009,100D) is used if
  present. ``ADMIN``: images are already corrected to the injection time; no decay.
  ``NONE`` is refused (each slice would need its own correction).
- Units ``CNTS``: Philips' private SUV scale factor (7053,1000). Units ``GML``: voxels are
  already SUVbw (factor 1).
- Injection time: Radiopharmaceutical Start DateTime, else Series Date + Radiopharmaceutical
  Start Time (if that falls after the scan, the injection is taken to be the day before,
  i.e. the scan crossed midnight; this is noted).
- The injected dose is not corrected for residual activity in the syringe (not in DICOM).

Reference: QIBA, "Standardized Uptake Value (SUV)" vendor-neutral pseudocode; DICOM PS3.3
C.8.9.1 (PET Series/Image modules). Every missing or unusable header is reported by name
and tag.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from imln.quantitative._errors import ModalityError, SUVError
from imln.quantitative._io import Volume

__all__ = ["SUVFactor", "suv_factor", "suv_volume"]

_TAGS = {
    "Modality": "(0008,0060)",
    "CorrectedImage": "(0028,0051)",
    "DecayCorrection": "(0054,1102)",
    "Units": "(0054,1001)",
    "PatientWeight": "(0010,1030)",
    "RadiopharmaceuticalInformationSequence": "(0054,0016)",
    "RadionuclideTotalDose": "(0018,1074)",
    "RadionuclideHalfLife": "(0018,1075)",
    "RadiopharmaceuticalStartTime": "(0018,1072)",
    "RadiopharmaceuticalStartDateTime": "(0018,1078)",
    "SeriesDate": "(0008,0021)",
    "SeriesTime": "(0008,0031)",
    "AcquisitionDate": "(0008,0022)",
    "AcquisitionTime": "(0008,0032)",
}


@dataclass(frozen=True)
class SUVFactor:
    """The factor taking the PET voxel values to SUVbw, and every input it came from."""

    factor: float
    units: str
    decay_correction: str | None
    patient_weight_kg: float | None
    injected_dose_bq: float | None
    half_life_s: float | None
    injection_time: str | None
    scan_time: str | None
    decay_time_s: float | None
    decayed_dose_bq: float | None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def _missing(keyword: str, source: str | None, why: str = "is missing or empty") -> SUVError:
    return SUVError(
        f"the PET header {keyword} {_TAGS.get(keyword, '')} {why}; SUV cannot be computed without it",
        source=source,
        field=keyword,
    )


def _number(ds: Any, keyword: str, source: str | None) -> float:
    value = ds.get(keyword)
    if value is None or value == "":
        raise _missing(keyword, source)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _missing(keyword, source, f"is not a number ({value!r})") from None
    if not number > 0:
        raise _missing(keyword, source, f"must be positive (got {number:g})")
    return number


def _date(ds: Any, keyword: str, source: str | None) -> _dt.date:
    from pydicom.valuerep import DA

    value = ds.get(keyword)
    if value in (None, ""):
        raise _missing(keyword, source)
    try:
        return DA(str(value))  # type: ignore[return-value]
    except ValueError:
        raise _missing(keyword, source, f"is not a DICOM date ({value!r})") from None


def _time(ds: Any, keyword: str, source: str | None) -> _dt.time:
    from pydicom.valuerep import TM

    value = ds.get(keyword)
    if value in (None, ""):
        raise _missing(keyword, source)
    try:
        return TM(str(value))  # type: ignore[return-value]
    except ValueError:
        raise _missing(keyword, source, f"is not a DICOM time ({value!r})") from None


def _datetime(value: Any, keyword: str, source: str | None) -> _dt.datetime:
    from pydicom.valuerep import DT

    try:
        dt = DT(str(value))
    except ValueError:
        raise _missing(keyword, source, f"is not a DICOM date-time ({value!r})") from None
    return dt.replace(tzinfo=None)


def suv_factor(headers: Any | Sequence[Any], *, source: str | None = None) -> SUVFactor:
    """SUVbw factor from the headers of a PET series (one dataset or all slices' datasets)."""
    slices = list(headers) if isinstance(headers, Sequence) and not hasattr(headers, "dir") else [headers]
    if not slices:
        raise SUVError("no DICOM headers: SUV needs the PET series' DICOM headers (a NIfTI/NRRD image has none)",
                       source=source, field="DICOM header")
    ds = slices[0]
    modality = str(ds.get("Modality", "") or "")
    if modality != "PT":
        raise ModalityError(
            f"SUV needs a PET series (Modality 'PT') but this image's Modality {_TAGS['Modality']} is "
            f"{modality or 'missing'!r}",
            source=source,
            field="Modality",
        )
    raw = ds.get("CorrectedImage") or []
    corrected = {str(v).strip().upper() for v in ([raw] if isinstance(raw, str) else raw)}
    lacking = [c for c in ("ATTN", "DECY") if c not in corrected]
    if lacking:
        raise SUVError(
            f"CorrectedImage {_TAGS['CorrectedImage']} is {sorted(corrected) or 'missing'} and lacks "
            f"{' and '.join(lacking)}; SUV needs attenuation- and decay-corrected images",
            source=source,
            field="CorrectedImage",
        )
    units = str(ds.get("Units", "") or "").upper()
    if units == "GML":
        return SUVFactor(1.0, units, str(ds.get("DecayCorrection", "") or None), None, None, None, None, None,
                         None, None, ("Units GML: voxels are taken to be SUVbw already",))
    if units == "CNTS":
        private = ds.get((0x7053, 0x1000))
        if private is None or private.value in (None, ""):
            raise SUVError(
                "Units (0054,1001) is CNTS and the Philips SUV scale factor (7053,1000) is absent; SUV cannot be "
                "computed",
                source=source,
                field="Units",
            )
        return SUVFactor(float(private.value), units, str(ds.get("DecayCorrection", "") or None), None, None, None,
                         None, None, None, None, ("Units CNTS: Philips private SUV scale factor (7053,1000) used",))
    if units != "BQML":
        raise SUVError(
            f"Units {_TAGS['Units']} is {units or 'missing'!r}; SUV is computed from BQML (Bq/mL), CNTS with the "
            "Philips scale factor, or GML",
            source=source,
            field="Units",
        )
    decay = str(ds.get("DecayCorrection", "") or "").upper()
    if decay not in ("START", "ADMIN"):
        raise SUVError(
            f"DecayCorrection {_TAGS['DecayCorrection']} is {decay or 'missing'!r}; SUV is computed for images "
            "decay-corrected to the acquisition start (START) or to the injection (ADMIN)",
            source=source,
            field="DecayCorrection",
        )
    weight = _number(ds, "PatientWeight", source)
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    if not seq:
        raise _missing("RadiopharmaceuticalInformationSequence", source)
    rp = seq[0]
    dose = _number(rp, "RadionuclideTotalDose", source)
    half_life = _number(rp, "RadionuclideHalfLife", source)
    notes: list[str] = []
    series_dt = _dt.datetime.combine(_date(ds, "SeriesDate", source), _time(ds, "SeriesTime", source))
    if rp.get("RadiopharmaceuticalStartDateTime") not in (None, ""):
        injection = _datetime(rp.RadiopharmaceuticalStartDateTime, "RadiopharmaceuticalStartDateTime", source)
        explicit_date = True
    else:
        if rp.get("RadiopharmaceuticalStartTime") in (None, ""):
            raise SUVError(
                "neither RadiopharmaceuticalStartDateTime (0018,1078) nor RadiopharmaceuticalStartTime (0018,1072) "
                "is given; the injection time is needed to decay the dose",
                source=source,
                field="RadiopharmaceuticalStartTime",
            )
        injection = _dt.datetime.combine(series_dt.date(), _time(rp, "RadiopharmaceuticalStartTime", source))
        explicit_date = False
    if decay == "ADMIN":
        scan = injection
        notes.append("DecayCorrection ADMIN: images are corrected to the injection time; the dose is not decayed")
    else:
        acquisitions = []
        for s in slices:
            if s.get("AcquisitionTime") in (None, ""):
                continue
            d = _date(s, "AcquisitionDate", source) if s.get("AcquisitionDate") not in (None, "") else series_dt.date()
            acquisitions.append(_dt.datetime.combine(d, _time(s, "AcquisitionTime", source)))
        earliest = min(acquisitions) if acquisitions else None
        if earliest is None or series_dt <= earliest:
            scan = series_dt
            if earliest is None:
                notes.append("no AcquisitionTime in the slices: Series Date/Time used as the scan time")
        else:
            ge = ds.get((0x0009, 0x100D))
            if ge is None or ge.value in (None, ""):
                raise SUVError(
                    f"SeriesTime (0008,0031) {series_dt:%H:%M:%S} is after the earliest AcquisitionTime (0008,0032) "
                    f"{earliest:%H:%M:%S} (a post-processed series) and the GE private scan time (0009,100D) is "
                    "absent; the scan start cannot be known",
                    source=source,
                    field="SeriesTime",
                )
            scan = _datetime(ge.value, "GE private scan date-time (0009,100D)", source)
            notes.append("Series Time is after the acquisition: GE private scan time (0009,100D) used")
        if not explicit_date and injection > scan:
            injection -= _dt.timedelta(days=1)
            notes.append("injection time of day is after the scan: taken as the day before (scan crossed midnight)")
    decay_time = (scan - injection).total_seconds()
    if decay_time < 0:
        raise SUVError(
            f"the injection ({injection:%Y-%m-%d %H:%M:%S}) is after the scan ({scan:%Y-%m-%d %H:%M:%S})",
            source=source,
            field="RadiopharmaceuticalStartDateTime",
        )
    decayed = dose * 2.0 ** (-decay_time / half_life)
    return SUVFactor(
        factor=weight * 1000.0 / decayed,
        units=units,
        decay_correction=decay,
        patient_weight_kg=weight,
        injected_dose_bq=dose,
        half_life_s=half_life,
        injection_time=injection.isoformat(),
        scan_time=scan.isoformat(),
        decay_time_s=decay_time,
        decayed_dose_bq=decayed,
        notes=tuple(notes),
    )


def suv_volume(pet: Volume) -> tuple[Volume, SUVFactor]:
    """The PET volume converted to SUVbw, and the factor used (see :func:`suv_factor`)."""
    if not pet.dicom:
        raise SUVError(
            "has no DICOM headers (it is not a DICOM series), so patient weight, injected dose and times are "
            "unknown: give the PET DICOM series, or state that the voxels already hold SUVbw",
            source=pet.source,
            field="DICOM header",
        )
    f = suv_factor(list(pet.dicom), source=pet.source)
    suv = Volume(
        (pet.array.astype(np.float64) * f.factor),
        pet.spacing,
        pet.origin,
        pet.direction,
        source=pet.source,
        modality=pet.modality,
        dicom=pet.dicom,
        notes=pet.notes,
    )
    return suv, f
