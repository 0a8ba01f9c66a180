"""Synthetic phantoms of known geometry and DICOM writers for the quantitative tests.

An ellipsoid is given by its full axis lengths, a rotation whose columns are the axis
directions, and its centre (LPS mm). A voxel belongs to it when its centre is inside.
The analytic axial section of the ellipsoid (the truth for caliper measurements) is the
intersection with the plane through the measured slice's voxel centres.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imln.quantitative import Mask, Volume
from imln.quantitative._measure import measurement_plane


def rotation(axis: tuple[float, float, float], angle_rad: float) -> np.ndarray:
    """Rotation matrix about ``axis`` (Rodrigues)."""
    a = np.asarray(axis, dtype=float)
    a /= np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(angle_rad) * k + (1 - math.cos(angle_rad)) * k @ k


@dataclass(frozen=True)
class Ellipsoid:
    axes_mm: tuple[float, float, float]  # full axis lengths
    rotation: np.ndarray  # columns: axis directions (LPS)
    centre_mm: tuple[float, float, float]

    def inside(self, xyz: np.ndarray) -> np.ndarray:
        q = (xyz - np.asarray(self.centre_mm)) @ self.rotation
        return (((2.0 * q) / np.asarray(self.axes_mm)) ** 2).sum(axis=-1) <= 1.0

    @property
    def volume_mm3(self) -> float:
        a, b, c = (x / 2 for x in self.axes_mm)
        return 4.0 / 3.0 * math.pi * a * b * c

    def section(self, mask: Volume, slice_index: int) -> tuple[float, float, np.ndarray, np.ndarray]:
        """Full major and minor axes (mm) of the section by the measuring plane at ``slice_index``,
        and the in-plane unit directions (LPS) of those axes."""
        a_ax, b_ax, s_ax, _ = measurement_plane(mask)
        lin = mask.direction * np.asarray(mask.spacing)[None, :]
        idx = np.zeros(3)
        idx[s_ax] = slice_index
        p0 = np.asarray(mask.origin) + lin @ idx
        basis = np.stack([mask.direction[:, a_ax], mask.direction[:, b_ax]], axis=1)
        semi = np.asarray(self.axes_mm) / 2.0
        amat = self.rotation @ np.diag(1.0 / semi**2) @ self.rotation.T
        h = basis.T @ amat @ basis
        d = p0 - np.asarray(self.centre_mm)
        g = basis.T @ amat @ d
        r2 = 1.0 - d @ amat @ d + g @ np.linalg.solve(h, g)
        ev, evec = np.linalg.eigh(h)  # ascending: first = major axis
        axes = 2.0 * np.sqrt(r2 / ev)
        return float(axes[0]), float(axes[1]), basis @ evec[:, 0], basis @ evec[:, 1]


def grid_volume(array: np.ndarray, spacing, origin, direction, cls=Volume, **kw) -> Volume:
    return cls(array, tuple(spacing), tuple(origin), np.asarray(direction, dtype=float), **kw)


def ellipsoid_mask(
    shapes: list[Ellipsoid],
    spacing: tuple[float, float, float],
    direction: np.ndarray,
    size: tuple[int, int, int],
    centre_mm: tuple[float, float, float] = (0.0, 0.0, 0.0),
    labels: list[int] | None = None,
) -> Mask:
    """A label map holding each ellipsoid (label 1 each, or ``labels``), grid centred near ``centre_mm``."""
    ni, nj, nk = size
    lin = np.asarray(direction, dtype=float) * np.asarray(spacing)[None, :]
    origin = np.asarray(centre_mm) - lin @ ((np.asarray(size) - 1) / 2.0) + np.array([0.137, -0.211, 0.173])
    k, j, i = np.meshgrid(np.arange(nk), np.arange(nj), np.arange(ni), indexing="ij")
    ijk = np.stack([i, j, k], axis=-1).astype(float)
    xyz = ijk @ lin.T + origin
    arr = np.zeros((nk, nj, ni), dtype=np.uint8)
    for n, shape in enumerate(shapes):
        arr[shape.inside(xyz)] = 1 if labels is None else labels[n]
    return Mask(arr, tuple(spacing), tuple(origin), np.asarray(direction, dtype=float))


def voxel_extent(volume: Volume, unit: np.ndarray) -> float:
    """Width of one voxel along the unit vector ``unit`` (projection of the voxel box), mm."""
    lin = volume.direction * np.asarray(volume.spacing)[None, :]
    return float(np.abs(lin.T @ unit).sum())


# --------------------------------------------------------------------------- DICOM writers


def _uid() -> str:
    from pydicom.uid import generate_uid

    return generate_uid()


def write_dicom_series(
    folder: Path,
    volume: Volume,
    *,
    modality: str = "MR",
    slopes: list[float] | None = None,
    header: Callable[[object, int], None] | None = None,
    reverse_files: bool = True,
) -> list[Path]:
    """Write ``volume`` as single-frame DICOM slices (uint16 stored values, per-slice Rescale Slope).

    Files are named in reverse slice order so that a reader must sort by position.
    ``header(ds, k)`` may add or remove attributes of slice ``k``.
    """
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    folder.mkdir(parents=True, exist_ok=True)
    sop_class = {"PT": "1.2.840.10008.5.1.4.1.1.128", "CT": "1.2.840.10008.5.1.4.1.1.2"}.get(
        modality, "1.2.840.10008.5.1.4.1.1.4"
    )
    series_uid, study_uid, for_uid = _uid(), _uid(), _uid()
    nk = volume.array.shape[0]
    lin = volume.direction * np.asarray(volume.spacing)[None, :]
    paths = []
    for k in range(nk):
        slope = 1.0 if slopes is None else slopes[k % len(slopes)]
        stored = np.round(volume.array[k] / slope)
        assert stored.min() >= 0 and stored.max() <= 65535, "value not representable as uint16 with this slope"
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = sop_class
        meta.MediaStorageSOPInstanceUID = _uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        name = f"slice{(nk - 1 - k) if reverse_files else k:03d}.dcm"
        ds = FileDataset(str(folder / name), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.Modality = modality
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = for_uid
        ds.PatientID = "PHANTOM"
        ds.InstanceNumber = k + 1
        ds.ImageOrientationPatient = [f"{v:.10f}" for v in (*volume.direction[:, 0], *volume.direction[:, 1])]
        pos = np.asarray(volume.origin) + lin[:, 2] * k
        ds.ImagePositionPatient = [f"{v:.10f}" for v in pos]
        ds.PixelSpacing = [f"{volume.spacing[1]:.10f}", f"{volume.spacing[0]:.10f}"]  # row, column spacing
        ds.SliceThickness = f"{volume.spacing[2]:.10f}"
        ds.Rows, ds.Columns = volume.array.shape[1], volume.array.shape[2]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.RescaleSlope = f"{slope:g}"
        ds.RescaleIntercept = "0"
        ds.PixelData = stored.astype("<u2").tobytes()
        if header is not None:
            header(ds, k)
        ds.save_as(folder / name, enforce_file_format=True)
        paths.append(folder / name)
    return paths


def pet_header(
    *,
    weight_kg: float | None = 70.0,
    dose_bq: float | None = 3.7e8,
    half_life_s: float | None = 6586.2,
    injection: str | None = "100000",
    injection_datetime: str | None = None,
    series_date: str = "20240305",
    series_time: str = "110000",
    acquisition_times: list[str] | None = None,
    decay_correction: str | None = "START",
    units: str | None = "BQML",
    corrected: tuple[str, ...] | None = ("ATTN", "DECY"),
) -> Callable[[object, int], None]:
    """A ``header`` callback for :func:`write_dicom_series` making PET headers (``None`` leaves a field out)."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    def apply(ds, k: int) -> None:
        ds.SeriesDate = series_date
        ds.SeriesTime = series_time
        ds.AcquisitionDate = series_date
        ds.AcquisitionTime = (acquisition_times or [series_time])[k % len(acquisition_times or [series_time])]
        if weight_kg is not None:
            ds.PatientWeight = f"{weight_kg:g}"
        if decay_correction is not None:
            ds.DecayCorrection = decay_correction
        if units is not None:
            ds.Units = units
        if corrected is not None:
            ds.CorrectedImage = list(corrected)
        rp = Dataset()
        if dose_bq is not None:
            rp.RadionuclideTotalDose = f"{dose_bq:g}"
        if half_life_s is not None:
            rp.RadionuclideHalfLife = f"{half_life_s:g}"
        if injection is not None:
            rp.RadiopharmaceuticalStartTime = injection
        if injection_datetime is not None:
            rp.RadiopharmaceuticalStartDateTime = injection_datetime
        ds.RadiopharmaceuticalInformationSequence = Sequence([rp])

    return apply


def decayed(dose_bq: float, seconds: float, half_life_s: float) -> float:
    return dose_bq * 2.0 ** (-seconds / half_life_s)


def write_image(path: Path, volume: Volume) -> Path:
    """Write a volume with SimpleITK (format from the suffix)."""
    import SimpleITK as sitk

    sitk.WriteImage(volume.to_sitk(), str(path))
    return path

