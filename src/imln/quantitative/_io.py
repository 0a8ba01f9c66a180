"""Readers: NIfTI, NRRD, MetaImage, DICOM series, DICOM-SEG and RTSTRUCT into one voxel grid type.

Geometry follows DICOM and SimpleITK: physical coordinates are patient **LPS** in mm
(+x towards the patient's left, +y posterior, +z superior). A voxel index ``(i, j, k)``
(column, row, slice) maps to the physical position of the voxel **centre**

    p = origin + direction @ (spacing * (i, j, k))

where column ``m`` of ``direction`` is the unit vector of index axis ``m``. Arrays are
stored ``array[k, j, i]``, as ``SimpleITK.GetArrayFromImage`` returns them.

Libraries: SimpleITK for NIfTI/NRRD/MetaImage, pydicom for DICOM image series (so every
slice's header is kept, which SUV needs, and per-slice rescale is applied), highdicom
for DICOM-SEG; RTSTRUCT contours are rasterised here onto a reference image's grid.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imln.quantitative._errors import (
    EmptyMaskError,
    GridMismatchError,
    ImageReadError,
    MissingDependencyError,
    QuantitativeError,
)

__all__ = [
    "SITK_SUFFIXES",
    "Mask",
    "Volume",
    "align_mask",
    "check_same_grid",
    "read_image",
    "read_mask",
]

#: File endings read through SimpleITK.
SITK_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd", ".hdr")

_SEG_UID = "1.2.840.10008.5.1.4.1.1.66.4"
_RTSTRUCT_UID = "1.2.840.10008.5.1.4.1.1.481.3"

#: Tolerances for deciding that two grids are the same (fractions of a voxel / cosines).
ORIGIN_TOLERANCE_VOXELS = 1e-3
SPACING_TOLERANCE_RELATIVE = 1e-4
DIRECTION_TOLERANCE = 1e-4


# --------------------------------------------------------------------------- grid types


@dataclass(frozen=True, eq=False)
class Volume:
    """A 3-D image on a voxel grid in patient LPS coordinates.

    ``array[k, j, i]``; ``spacing``/``origin`` in mm in ``(i, j, k)``/``(x, y, z)`` order;
    ``direction`` 3×3 with one index axis per column. ``dicom`` holds the per-slice DICOM
    headers (without pixel data) in slice order when the volume came from a DICOM series.
    """

    array: np.ndarray
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: np.ndarray
    source: str | None = None
    modality: str | None = None
    dicom: tuple[Any, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise QuantitativeError(f"expected a 3-D array, got shape {self.array.shape}", source=self.source)
        object.__setattr__(self, "direction", np.asarray(self.direction, dtype=float).reshape(3, 3))
        object.__setattr__(self, "spacing", tuple(float(s) for s in self.spacing))
        object.__setattr__(self, "origin", tuple(float(o) for o in self.origin))

    # ---- geometry
    @property
    def size(self) -> tuple[int, int, int]:
        """Number of voxels along (i, j, k)."""
        k, j, i = self.array.shape
        return (i, j, k)

    @property
    def affine(self) -> np.ndarray:
        """4×4 matrix taking homogeneous ``(i, j, k, 1)`` to LPS ``(x, y, z, 1)`` in mm."""
        a = np.eye(4)
        a[:3, :3] = self.direction * np.asarray(self.spacing)[None, :]
        a[:3, 3] = self.origin
        return a

    @property
    def voxel_volume_mm3(self) -> float:
        return float(abs(np.linalg.det(self.affine[:3, :3])))

    def index_to_physical(self, ijk: np.ndarray) -> np.ndarray:
        """LPS positions (mm) of continuous indices ``ijk`` (shape ``(..., 3)``, order i, j, k)."""
        ijk = np.asarray(ijk, dtype=float)
        return ijk @ (self.direction * np.asarray(self.spacing)[None, :]).T + np.asarray(self.origin)

    def physical_to_index(self, xyz: np.ndarray) -> np.ndarray:
        """Continuous indices ``(i, j, k)`` of LPS positions ``xyz`` (shape ``(..., 3)``)."""
        m = np.linalg.inv(self.direction * np.asarray(self.spacing)[None, :])
        return (np.asarray(xyz, dtype=float) - np.asarray(self.origin)) @ m.T

    def describe_grid(self) -> str:
        return (
            f"size {self.size}, spacing {_fmt(self.spacing)} mm, origin {_fmt(self.origin)} mm, "
            f"direction {_fmt(self.direction.T.ravel())}"
        )

    # ---- SimpleITK bridge
    def to_sitk(self) -> Any:
        sitk = _require("SimpleITK")

        img = sitk.GetImageFromArray(self.array)
        img.SetSpacing(self.spacing)
        img.SetOrigin(self.origin)
        img.SetDirection(tuple(self.direction.ravel()))
        return img

    @classmethod
    def from_sitk(cls, img: Any, *, source: str | None = None, modality: str | None = None) -> Volume:
        sitk = _require("SimpleITK")

        if img.GetNumberOfComponentsPerPixel() != 1:
            raise ImageReadError(
                f"has {img.GetNumberOfComponentsPerPixel()} components per voxel (colour or vector image); "
                "a single-channel grey-scale or label image is required",
                source=source,
                field="pixel type",
            )
        dim = img.GetDimension()
        if dim == 2:  # one slice: promote, slice axis = row × column
            arr = sitk.GetArrayFromImage(img)[None, ...]
            d2 = np.asarray(img.GetDirection()).reshape(2, 2)
            direction = np.eye(3)
            direction[:2, :2] = d2
            spacing = (*img.GetSpacing(), 1.0)
            origin = (*img.GetOrigin(), 0.0)
            return cls(arr, spacing, origin, direction, source=source, modality=modality,
                       notes=("2-D image: read as one slice with an assumed 1 mm slice spacing",))
        if dim != 3:
            raise ImageReadError(
                f"is {dim}-dimensional; a 3-D image (or one 2-D slice) is required", source=source, field="dimension"
            )
        arr = sitk.GetArrayFromImage(img)
        return cls(arr, img.GetSpacing(), img.GetOrigin(), np.asarray(img.GetDirection()).reshape(3, 3),
                   source=source, modality=modality)


@dataclass(frozen=True, eq=False)
class Mask(Volume):
    """A label map: 0 = background, each positive integer a structure; ``label_names`` names them."""

    label_names: dict[int, str] = field(default_factory=dict)

    @property
    def labels(self) -> list[int]:
        """Labels present (positive values), ascending."""
        values = np.unique(self.array)
        return [int(v) for v in values if v > 0]


def _require(module: str) -> Any:
    """Import an optional dependency of the ``quantitative`` extra, or raise a clear error."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"reading images needs {module}, which is not installed; install imln's quantitative extra "
            "(pip install 'imln[quantitative]')",
            field=module,
        ) from None


def _fmt(values: Iterable[float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"


# --------------------------------------------------------------------------- dispatch


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for s in SITK_SUFFIXES:
        if name.endswith(s):
            return s
    return path.suffix.lower()


def read_image(path: str | Path, *, series_uid: str | None = None) -> Volume:
    """Read a grey-scale image: NIfTI/NRRD/MetaImage file, DICOM file, or a folder holding a DICOM series.

    A folder may hold several series; then ``series_uid`` chooses one (the error lists them).
    DICOM pixel values are rescaled per slice (Rescale Slope/Intercept).
    """
    p = Path(path)
    if not p.exists():
        raise ImageReadError("no such file or folder", source=p)
    if p.is_dir():
        return _read_dicom_series(p, series_uid=series_uid)
    if _suffix(p) in SITK_SUFFIXES:
        return _read_sitk(p)
    ds = _sniff_dicom(p)
    if ds is None:
        raise ImageReadError(
            f"is neither a DICOM file nor one of {', '.join(SITK_SUFFIXES)} (a DICOM series is read from its folder)",
            source=p,
            field="format",
        )
    sop = str(ds.get("SOPClassUID", ""))
    if sop in (_SEG_UID, _RTSTRUCT_UID):
        kind = "DICOM-SEG" if sop == _SEG_UID else "RTSTRUCT"
        raise ImageReadError(f"is a {kind} object (a mask), not an image; give it as the mask", source=p,
                             field="SOP Class UID")
    return _read_dicom_files([p], source=p)


def read_mask(
    path: str | Path,
    reference: Volume | None = None,
    *,
    roi: str | Sequence[str] | None = None,
) -> Mask:
    """Read a label map and, when ``reference`` is given, put it on the reference grid.

    - NIfTI/NRRD/MetaImage/DICOM-image masks must share the reference grid exactly
      (:class:`GridMismatchError` otherwise, naming every differing property).
    - DICOM-SEG frames may cover part of the reference (the usual case); each voxel must
      fall on a reference voxel. Segment numbers become labels, segment labels their names.
    - RTSTRUCT needs ``reference``: closed planar contours are filled on its slices (a voxel
      belongs to the ROI when its centre lies inside the contour, centres on an edge counting
      on one side only; nested contours are holes).
      ROI numbers become labels. ``roi`` chooses ROIs by name (default: every ROI with
      closed planar contours).
    """
    p = Path(path)
    if not p.exists():
        raise ImageReadError("no such file or folder", source=p)
    if p.is_file() and _suffix(p) not in SITK_SUFFIXES:
        ds = _sniff_dicom(p)
        if ds is not None:
            sop = str(ds.get("SOPClassUID", ""))
            if sop == _SEG_UID:
                mask = _read_seg(p)
                return align_mask(mask, reference) if reference is not None else mask
            if sop == _RTSTRUCT_UID or str(ds.get("Modality", "")) == "RTSTRUCT":
                if reference is None:
                    raise QuantitativeError(
                        "an RTSTRUCT holds contours, not voxels; give the image it was drawn on as the reference",
                        source=p,
                        field="reference image",
                    )
                return _read_rtstruct(p, reference, roi=roi)
    if roi is not None:
        raise QuantitativeError("roi applies to RTSTRUCT masks only", source=p, field="roi")
    vol = read_image(p)
    mask = _as_mask(vol)
    if reference is not None:
        check_same_grid(reference, mask)
    return mask


def _as_mask(vol: Volume) -> Mask:
    arr = vol.array
    if arr.dtype.kind == "b":
        arr = arr.astype(np.uint8)
    elif arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if not finite.all():
            raise QuantitativeError("mask contains NaN or infinite values", source=vol.source, field="voxel values")
        frac = arr[(arr != np.round(arr))]
        if frac.size:
            raise QuantitativeError(
                f"mask has non-integer values (e.g. {float(frac.flat[0]):.4g}); a label map of integers is "
                "required (threshold a probability map first)",
                source=vol.source,
                field="voxel values",
            )
        arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise QuantitativeError(
            f"mask has negative values (minimum {arr.min()}); labels must be 0 (background) or positive",
            source=vol.source,
            field="voxel values",
        )
    if arr.dtype.kind not in "iu":
        raise QuantitativeError(f"mask pixel type {arr.dtype} is not an integer type", source=vol.source,
                                field="pixel type")
    return Mask(arr, vol.spacing, vol.origin, vol.direction, source=vol.source, modality=vol.modality,
                dicom=vol.dicom, notes=vol.notes)


# --------------------------------------------------------------------------- grid checks


def check_same_grid(image: Volume, mask: Volume) -> None:
    """Raise :class:`GridMismatchError` unless both share size, spacing, origin and direction."""
    problems: list[str] = []
    fields: list[str] = []
    if image.size != mask.size:
        problems.append(f"size {image.size} vs {mask.size} voxels")
        fields.append("size")
    sp_i, sp_m = np.asarray(image.spacing), np.asarray(mask.spacing)
    if np.any(np.abs(sp_i - sp_m) > SPACING_TOLERANCE_RELATIVE * np.maximum(sp_i, sp_m)):
        problems.append(f"spacing {_fmt(sp_i)} vs {_fmt(sp_m)} mm")
        fields.append("spacing")
    if np.any(np.abs(np.asarray(image.origin) - np.asarray(mask.origin)) > ORIGIN_TOLERANCE_VOXELS * sp_i.min()):
        problems.append(f"origin {_fmt(image.origin)} vs {_fmt(mask.origin)} mm")
        fields.append("origin")
    if np.any(np.abs(image.direction - mask.direction) > DIRECTION_TOLERANCE):
        problems.append(
            f"direction {_fmt(image.direction.T.ravel())} vs {_fmt(mask.direction.T.ravel())}"
        )
        fields.append("direction")
    if problems:
        raise GridMismatchError(
            f"the mask's voxel grid differs from that of the image {image.source or '(in memory)'}: "
            + "; ".join(problems)
            + " (image vs mask). Resample the mask onto the image grid (nearest neighbour) or give the "
            "image it was drawn on.",
            source=mask.source,
            field=", ".join(fields),
        )


def align_mask(mask: Mask, reference: Volume) -> Mask:
    """Place ``mask`` on ``reference``'s grid when every mask voxel centre is a reference voxel centre.

    Allows a mask grid that covers part of the reference, and index axes permuted or
    flipped (as DICOM-SEG readers may order frames), never interpolation.
    """
    if (
        mask.size == reference.size
        and np.allclose(mask.spacing, reference.spacing, rtol=SPACING_TOLERANCE_RELATIVE)
        and np.allclose(mask.direction, reference.direction, atol=DIRECTION_TOLERANCE)
        and np.allclose(mask.origin, reference.origin, atol=ORIGIN_TOLERANCE_VOXELS * min(reference.spacing))
    ):
        return Mask(mask.array, reference.spacing, reference.origin, reference.direction, source=mask.source,
                    modality=mask.modality, label_names=mask.label_names, notes=mask.notes)
    ref_inv = np.linalg.inv(reference.direction * np.asarray(reference.spacing)[None, :])
    m_lin = mask.direction * np.asarray(mask.spacing)[None, :]
    a = ref_inv @ m_lin  # reference index steps per mask index step
    b = ref_inv @ (np.asarray(mask.origin) - np.asarray(reference.origin))
    perm = np.zeros(3, dtype=int)
    sign = np.zeros(3, dtype=int)
    used: set[int] = set()
    for m in range(3):
        col = a[:, m]
        r = int(np.argmax(np.abs(col)))
        unit = np.zeros(3)
        unit[r] = 1.0
        direction_ok = abs(abs(col[r]) - 1.0) < 1e-3 and np.allclose(np.abs(col) * (1 - unit), 0, atol=1e-3)
        if mask.size[m] == 1:
            # one slice: only the orientation of this axis matters, not the step length
            cos = mask.direction[:, m] @ reference.direction[:, r]
            direction_ok = abs(abs(cos) - 1.0) < DIRECTION_TOLERANCE and np.allclose(
                np.abs(col) * (1 - unit), 0, atol=1e-3
            )
        if not direction_ok or r in used:
            raise GridMismatchError(
                "the segmentation's voxels do not fall on the reference image's voxels (different spacing or "
                f"orientation): segmentation {mask.describe_grid()}; reference {reference.describe_grid()}",
                source=mask.source,
                field="spacing/direction",
            )
        used.add(r)
        perm[m] = r
        sign[m] = 1 if col[r] > 0 else -1
    offset = np.round(b).astype(int)
    if np.any(np.abs(b - offset) > 1e-2):
        raise GridMismatchError(
            f"the segmentation's voxel centres lie between the reference image's voxel centres (offset "
            f"{_fmt(b)} voxels): segmentation origin {_fmt(mask.origin)} mm, reference origin "
            f"{_fmt(reference.origin)} mm",
            source=mask.source,
            field="origin",
        )
    out = np.zeros(reference.array.shape, dtype=mask.array.dtype)
    # mask index (i, j, k) -> reference index offset + sign * i along perm axis
    src = mask.array  # [k, j, i]
    idx = np.nonzero(src)
    mask_ijk = np.stack([idx[2], idx[1], idx[0]], axis=1)
    ref_ijk = np.repeat(offset[None, :], len(mask_ijk), axis=0)
    for m in range(3):
        ref_ijk[:, perm[m]] += sign[m] * mask_ijk[:, m]
    size = np.asarray(reference.size)
    outside = np.any((ref_ijk < 0) | (ref_ijk >= size[None, :]), axis=1)
    if outside.any():
        raise GridMismatchError(
            f"{int(outside.sum())} segmented voxels lie outside the reference image ({reference.describe_grid()})",
            source=mask.source,
            field="extent",
        )
    out[ref_ijk[:, 2], ref_ijk[:, 1], ref_ijk[:, 0]] = src[idx]
    return Mask(out, reference.spacing, reference.origin, reference.direction, source=mask.source,
                modality=mask.modality, label_names=mask.label_names, notes=mask.notes)


# --------------------------------------------------------------------------- SimpleITK formats


def _read_sitk(p: Path) -> Volume:
    sitk = _require("SimpleITK")

    if _suffix(p) in (".nii", ".nii.gz", ".hdr"):
        _check_nifti_complete(p)  # ITK fills a truncated NIfTI with zeros without a word
    try:
        img = sitk.ReadImage(str(p))
    except RuntimeError as exc:
        raise ImageReadError(f"cannot be read: the file is corrupt, truncated or not a valid {_suffix(p)} file "
                             f"({_itk_reason(exc)})", source=p) from None
    return Volume.from_sitk(img, source=str(p))


def _stream_length(p: Path) -> int:
    """Uncompressed length of ``p`` (gzip streams decompressed to the end; a cut stream raises)."""
    if not p.name.lower().endswith(".gz"):
        return p.stat().st_size
    import zlib

    length = 0
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with p.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            try:
                length += len(d.decompress(chunk))
            except zlib.error as exc:
                raise ImageReadError(f"is corrupt: the gzip stream cannot be decompressed ({exc})", source=p,
                                     field="gzip") from None
    if not d.eof:
        raise ImageReadError("is truncated: the gzip stream ends before its end-of-stream marker", source=p,
                             field="gzip")
    return length


def _check_nifti_complete(p: Path) -> None:
    """Raise when a NIfTI-1/2 (or Analyze .hdr/.img) file holds fewer voxel bytes than its header declares."""
    import gzip
    import struct

    try:
        with (gzip.open(p, "rb") if p.name.lower().endswith(".gz") else p.open("rb")) as fh:
            hdr = fh.read(540)
    except EOFError:
        raise ImageReadError("is truncated: the gzip stream ends before its end-of-stream marker", source=p,
                             field="gzip") from None
    except gzip.BadGzipFile as exc:
        raise ImageReadError(f"is corrupt: not a valid gzip stream ({exc})", source=p, field="gzip") from None
    except OSError as exc:
        raise ImageReadError(f"cannot be read: {exc.strerror or exc}", source=p) from None
    if len(hdr) < 348:
        raise ImageReadError(f"is truncated: {len(hdr)} bytes, shorter than a NIfTI header (348)", source=p,
                             field="header")
    for endian in "<>":
        size = struct.unpack(endian + "i", hdr[:4])[0]
        if size in (348, 540):
            break
    else:
        return  # not NIfTI/Analyze: let ITK report it
    if size == 348:
        dims = struct.unpack(endian + "8h", hdr[40:56])
        bitpix = struct.unpack(endian + "h", hdr[72:74])[0]
        offset = int(struct.unpack(endian + "f", hdr[108:112])[0])
    else:
        if len(hdr) < 540:
            raise ImageReadError("is truncated inside its NIfTI-2 header", source=p, field="header")
        bitpix = struct.unpack(endian + "h", hdr[14:16])[0]
        dims = struct.unpack(endian + "8q", hdr[16:80])
        offset = struct.unpack(endian + "q", hdr[168:176])[0]
    ndim = dims[0]
    if not 1 <= ndim <= 7 or bitpix <= 0 or any(d < 0 for d in dims[1 : ndim + 1]):
        return  # malformed header: ITK's message is the better one
    nbytes = math.prod(max(d, 1) for d in dims[1 : ndim + 1]) * bitpix // 8
    if p.suffix.lower() == ".hdr":
        data, offset = p.with_suffix(".img"), 0
        if not data.exists():
            raise ImageReadError(f"has no voxel file {data.name} beside it", source=p, field="voxel data")
        have = data.stat().st_size
    else:
        have = _stream_length(p) - max(offset, size)
    if have < nbytes:
        raise ImageReadError(
            f"is truncated: the header declares {nbytes} bytes of voxel data, the file holds {max(have, 0)}",
            source=p,
            field="voxel data",
        )


def _itk_reason(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    useful = [ln for ln in lines if ln.lower().startswith(("description", "itk::error"))] or lines
    text = useful[-1] if useful else type(exc).__name__
    for prefix in ("Description:", "itk::ERROR:"):
        text = text.replace(prefix, "").strip()
    return text[:300]


# --------------------------------------------------------------------------- DICOM images


def _sniff_dicom(p: Path) -> Any | None:
    """Header of ``p`` when it is DICOM (with or without the 128-byte preamble), else ``None``."""
    pydicom = _require("pydicom")
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(p, stop_before_pixels=True)
    except InvalidDicomError:
        pass
    except Exception as exc:  # truncated header and the like
        raise ImageReadError(f"cannot be read as DICOM: {exc}", source=p) from None
    try:  # files without a preamble (pydicom's own rtstruct.dcm is one)
        ds = pydicom.dcmread(p, stop_before_pixels=True, force=True)
    except Exception:
        return None
    return ds if "SOPClassUID" in ds else None


def _read_dicom_series(folder: Path, *, series_uid: str | None) -> Volume:
    pydicom = _require("pydicom")

    series: dict[str, list[tuple[Path, Any]]] = defaultdict(list)
    masks: list[str] = []
    for f in sorted(x for x in folder.rglob("*") if x.is_file()):
        if f.name.upper() == "DICOMDIR":
            continue
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
        except Exception:
            continue  # not DICOM: ignored (README files, thumbnails)
        sop = str(ds.get("SOPClassUID", ""))
        if sop in (_SEG_UID, _RTSTRUCT_UID):
            masks.append(f.name)
            continue
        if "Rows" not in ds:
            continue
        series[str(ds.get("SeriesInstanceUID", "?"))].append((f, ds))
    if not series:
        extra = f" (only masks: {', '.join(masks)})" if masks else ""
        raise ImageReadError(f"holds no DICOM image files{extra}", source=folder)
    if series_uid is None and len(series) > 1:
        listing = "; ".join(
            f"{uid} ({len(v)} files, {v[0][1].get('Modality', '?')}, "
            f"{str(v[0][1].get('SeriesDescription', '')).strip() or 'no description'})"
            for uid, v in series.items()
        )
        raise ImageReadError(f"holds {len(series)} DICOM series; choose one by Series Instance UID: {listing}",
                             source=folder, field="SeriesInstanceUID")
    uid = series_uid if series_uid is not None else next(iter(series))
    if uid not in series:
        raise ImageReadError(f"has no series with Series Instance UID {uid} (found: {', '.join(series)})",
                             source=folder, field="SeriesInstanceUID")
    files = [f for f, _ in series[uid]]
    return _read_dicom_files(files, source=folder)


def _required(ds: Any, keyword: str, f: Path) -> Any:
    value = ds.get(keyword)
    if value is None or value == "":
        raise ImageReadError(f"the DICOM attribute {keyword} is missing or empty; it is needed to place the "
                             "slice in space", source=f, field=keyword)
    return value


def _read_dicom_files(files: Sequence[Path], *, source: Path) -> Volume:
    pydicom = _require("pydicom")

    headers: list[tuple[Path, Any]] = []
    for f in files:
        try:
            headers.append((f, pydicom.dcmread(f, stop_before_pixels=True)))
        except Exception as exc:
            raise ImageReadError(f"cannot be read as DICOM: {exc}", source=f) from None
    first_f, first = headers[0]
    frames = int(first.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        raise ImageReadError(
            f"is a multi-frame (enhanced) DICOM image with {frames} frames; only single-frame slice series are "
            "read (convert it, e.g. to NIfTI, first)",
            source=first_f,
            field="NumberOfFrames",
        )
    iop = np.asarray([float(v) for v in _required(first, "ImageOrientationPatient", first_f)], dtype=float)
    row_dir, col_dir = iop[:3], iop[3:]
    normal = np.cross(row_dir, col_dir)
    ps = [float(v) for v in _required(first, "PixelSpacing", first_f)]
    rows, cols = int(first.Rows), int(first.Columns)
    placed: list[tuple[float, Path, Any]] = []
    for f, ds in headers:
        for keyword, ref in (("Rows", rows), ("Columns", cols)):
            if int(ds.get(keyword, -1)) != ref:
                raise ImageReadError(f"{keyword} is {ds.get(keyword)} but {ref} in {first_f.name}; slices of one "
                                     "series must share their matrix size", source=f, field=keyword)
        o = np.asarray([float(v) for v in _required(ds, "ImageOrientationPatient", f)])
        if np.max(np.abs(o - iop)) > DIRECTION_TOLERANCE:
            raise ImageReadError(f"ImageOrientationPatient {_fmt(o)} differs from {_fmt(iop)} in {first_f.name}",
                                 source=f, field="ImageOrientationPatient")
        sp = [float(v) for v in _required(ds, "PixelSpacing", f)]
        if not np.allclose(sp, ps, rtol=SPACING_TOLERANCE_RELATIVE):
            raise ImageReadError(f"PixelSpacing {_fmt(sp)} differs from {_fmt(ps)} in {first_f.name}", source=f,
                                 field="PixelSpacing")
        pos = np.asarray([float(v) for v in _required(ds, "ImagePositionPatient", f)])
        placed.append((float(pos @ normal), f, ds))
    placed.sort(key=lambda t: t[0])
    notes: list[str] = []
    if len(placed) > 1:
        z = np.asarray([t[0] for t in placed])
        gaps = np.diff(z)
        if np.any(gaps < 1e-3):
            dup = int(np.argmin(gaps))
            raise ImageReadError(
                f"two slices share the same position ({placed[dup][1].name} and {placed[dup + 1][1].name}); the "
                "folder may mix acquisitions (choose a series) or time points",
                source=source,
                field="ImagePositionPatient",
            )
        step = float(np.median(gaps))
        bad = np.abs(gaps - step) > max(1e-2 * step, 1e-3)
        if bad.any():
            g = int(np.argmax(bad))
            raise ImageReadError(
                f"slice spacing is not uniform: {gaps[g]:.4g} mm between {placed[g][1].name} and "
                f"{placed[g + 1][1].name}, {step:.4g} mm elsewhere (missing or extra slice?)",
                source=source,
                field="ImagePositionPatient",
            )
    else:
        thickness = first.get("SpacingBetweenSlices") or first.get("SliceThickness")
        step = float(thickness) if thickness not in (None, "") else 1.0
        notes.append(
            f"single slice: slice spacing taken as {step:g} mm from "
            + ("SpacingBetweenSlices/SliceThickness" if thickness not in (None, "") else "an assumed 1 mm")
        )
    slices = np.empty((len(placed), rows, cols), dtype=np.float32)
    for n, (_, f, _) in enumerate(placed):
        try:
            ds = pydicom.dcmread(f)
            pixels = ds.pixel_array
        except Exception as exc:
            raise ImageReadError(f"pixel data cannot be decoded (truncated or unsupported compression): {exc}",
                                 source=f, field="PixelData") from None
        if pixels.shape != (rows, cols):
            raise ImageReadError(f"pixel data has shape {pixels.shape}, expected {(rows, cols)} (colour or "
                                 "multi-frame data is not supported)", source=f, field="PixelData")
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
        slices[n] = pixels.astype(np.float64) * slope + intercept
    first_pos = np.asarray([float(v) for v in placed[0][2].ImagePositionPatient])
    direction = np.stack([row_dir, col_dir, normal], axis=1)
    # PixelSpacing is (row spacing = between rows, column spacing = between columns)
    spacing = (ps[1], ps[0], step)
    return Volume(
        slices,
        spacing,
        tuple(first_pos),
        direction,
        source=str(source),
        modality=str(first.get("Modality", "")) or None,
        dicom=tuple(ds for _, _, ds in placed),
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- DICOM-SEG


def _read_seg(p: Path) -> Mask:
    hd = _require("highdicom")
    try:
        seg = hd.seg.segread(p)
    except Exception as exc:
        raise ImageReadError(f"cannot be read as DICOM-SEG: {exc}", source=p) from None
    numbers = [int(n) for n in seg.get_segment_numbers()]
    names = {n: str(seg.get_segment_description(n).segment_label) for n in numbers}
    try:
        vol = seg.get_volume(combine_segments=True, relabel=False)
    except Exception as exc:
        text = str(exc)
        if "overlap" in text.lower():
            raise QuantitativeError(
                f"segments overlap ({', '.join(f'{n} {names[n]!r}' for n in numbers)}); a label map needs "
                "non-overlapping segments",
                source=p,
                field="SegmentSequence",
            ) from None
        raise ImageReadError(f"the segmentation frames do not form a regular voxel grid: {text}", source=p,
                             field="PerFrameFunctionalGroupsSequence") from None
    if vol is None:
        raise ImageReadError("the segmentation has no frames", source=p, field="PixelData")
    arr = np.asarray(vol.array)
    if arr.ndim == 4:  # (slices, rows, columns, segments) if not combined
        arr = arr[..., 0]
    aff = np.asarray(vol.affine, dtype=float)
    cols = [aff[:3, 2], aff[:3, 1], aff[:3, 0]]  # i = column, j = row, k = slice
    spacing = tuple(float(np.linalg.norm(c)) for c in cols)
    direction = np.stack([c / s for c, s in zip(cols, spacing)], axis=1)
    return Mask(arr.astype(np.uint16), spacing, tuple(aff[:3, 3]), direction, source=str(p), modality="SEG",
                label_names=names)


# --------------------------------------------------------------------------- RTSTRUCT


def _read_rtstruct(p: Path, reference: Volume, *, roi: str | Sequence[str] | None) -> Mask:
    pydicom = _require("pydicom")

    try:
        ds = pydicom.dcmread(p, force=True)
    except Exception as exc:
        raise ImageReadError(f"cannot be read as DICOM: {exc}", source=p) from None
    if "StructureSetROISequence" not in ds:
        raise ImageReadError("has no Structure Set ROI Sequence; it is not an RT Structure Set",
                             source=p, field="StructureSetROISequence")
    names = {int(r.ROINumber): str(r.ROIName) for r in ds.StructureSetROISequence}
    frames = {int(r.ROINumber): str(r.get("ReferencedFrameOfReferenceUID", "")) for r in ds.StructureSetROISequence}
    ref_for = str(reference.dicom[0].get("FrameOfReferenceUID", "")) if reference.dicom else ""
    contours: dict[int, list[np.ndarray]] = defaultdict(list)
    kinds: dict[int, set[str]] = defaultdict(set)
    for item in ds.get("ROIContourSequence", []):
        number = int(item.ReferencedROINumber)
        for c in item.get("ContourSequence", []):
            kind = str(c.get("ContourGeometricType", ""))
            kinds[number].add(kind)
            if kind == "CLOSED_PLANAR":
                data = np.asarray([float(v) for v in c.ContourData], dtype=float)
                if data.size % 3 or data.size < 9:
                    raise ImageReadError(f"ROI {names.get(number, number)!r}: a contour has {data.size} "
                                         "coordinates; closed planar contours need ≥3 (x, y, z) points",
                                         source=p, field="ContourData")
                contours[number].append(data.reshape(-1, 3))
    if roi is None:
        chosen = [n for n in names if contours.get(n)]
        if not chosen:
            raise EmptyMaskError("has no ROI with closed planar contours (only points or open contours)", source=p,
                                 field="ROIContourSequence")
    else:
        wanted = [roi] if isinstance(roi, str) else list(roi)
        by_name = {v.casefold(): k for k, v in names.items()}
        chosen = []
        for w in wanted:
            if w.casefold() not in by_name:
                raise QuantitativeError(f"has no ROI named {w!r} (ROIs: {', '.join(names.values())})", source=p,
                                        field="ROIName")
            n = by_name[w.casefold()]
            if not contours.get(n):
                found = ", ".join(sorted(kinds.get(n, set()))) or "no contours"
                raise EmptyMaskError(f"ROI {w!r} has no closed planar contour ({found}); it encloses no volume",
                                     source=p, field="ContourGeometricType")
            chosen.append(n)
    for n in chosen:
        if ref_for and frames.get(n) and frames[n] != ref_for:
            raise GridMismatchError(
                f"ROI {names[n]!r} refers to Frame of Reference {frames[n]} but the image "
                f"{reference.source} is in {ref_for}; the contours belong to another image",
                source=p,
                field="ReferencedFrameOfReferenceUID",
            )
    out = np.zeros(reference.array.shape, dtype=np.uint16)
    for n in chosen:
        filled = _fill_contours(contours[n], reference, p, names[n])
        clash = filled & (out > 0)
        if clash.any():
            other = names.get(int(out[clash].flat[0]), "?")
            raise QuantitativeError(
                f"ROIs {other!r} and {names[n]!r} overlap in {int(clash.sum())} voxels; choose ROIs that do not "
                "overlap (roi=...)",
                source=p,
                field="ROIName",
            )
        out[filled] = n
    return Mask(out, reference.spacing, reference.origin, reference.direction, source=str(p), modality="RTSTRUCT",
                label_names={n: names[n] for n in chosen})


def _fill_contours(polys: list[np.ndarray], reference: Volume, p: Path, name: str) -> np.ndarray:
    out = np.zeros(reference.array.shape, dtype=bool)
    nk, nj, ni = reference.array.shape
    for poly in polys:
        ijk = reference.physical_to_index(poly)
        k = ijk[:, 2]
        kr = int(round(float(k.mean())))
        if np.max(np.abs(k - kr)) > 0.1:
            raise GridMismatchError(
                f"ROI {name!r}: a contour at z = {poly[0, 2]:.6g} mm does not lie in a slice plane of the image "
                f"(it falls at slice index {k.mean():.3f}); contours must be drawn on the image's slices",
                source=p,
                field="ContourData",
            )
        if not 0 <= kr < nk:
            raise GridMismatchError(
                f"ROI {name!r}: a contour at z = {poly[0, 2]:.6g} mm lies outside the image (slice index {kr}, "
                f"image has {nk} slices)",
                source=p,
                field="ContourData",
            )
        out[kr] ^= _polygon_mask(ijk[:, 0], ijk[:, 1], ni, nj)
    return out


def _polygon_mask(x: np.ndarray, y: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixels whose centre lies inside the polygon (even-odd rule).

    A centre exactly on an edge counts only on the polygon's lower-index side (half-open
    intervals ``[a, b)`` in both row and column), so two contours sharing an edge never
    share a pixel, and a w × h mm rectangle on a 1 mm grid always covers w × h pixels.
    """
    mask = np.zeros((height, width), dtype=bool)
    x0, y0 = x, y
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    jmin = max(math.ceil(float(y.min())), 0)
    jmax = min(math.floor(float(y.max())), height - 1)
    for j in range(jmin, jmax + 1):
        crosses = ((y0 <= j) & (y1 > j)) | ((y1 <= j) & (y0 > j))
        if not crosses.any():
            continue
        t = (j - y0[crosses]) / (y1[crosses] - y0[crosses])
        xs = np.sort(x0[crosses] + t * (x1[crosses] - x0[crosses]))
        for a, b in zip(xs[0::2], xs[1::2]):
            i0 = max(math.ceil(a), 0)
            i1 = min(math.ceil(b) - 1, width - 1)
            if i1 >= i0:
                mask[j, i0 : i1 + 1] ^= True
    return mask
