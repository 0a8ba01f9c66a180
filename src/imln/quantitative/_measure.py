"""Per-node measurements from a label map, in physical millimetres.

What is computed for each node (definitions, so numbers can be checked by hand):

**Nodes.** With ``split="auto"`` a mask holding a single label is split into connected
components (``connectivity``: ``"face"`` = 6-, ``"edge"`` = 18-, ``"corner"`` = 26-neighbours;
default ``"face"`` as in SimpleITK's ConnectedComponent and pyradiomics), and a mask
with several labels gives one node per label. ``"components"``/``"labels"`` force either.

**Volume** = number of voxels × voxel volume (mm³). **Centroid** = mean LPS position of
the voxel centres (mm).

**Boundary points.** A binary mask's surface is taken where a marching-cubes /
marching-squares iso-surface at 0.5 would put it: at the midpoint between a voxel of the
node and each face-neighbour outside it. The diameters below are distances between such
points (the convention of pyradiomics' Maximum3DDiameter), so a diameter is known to
the digitisation limit of the mask: each end within half a voxel.

**Axial (caliper) axes, as a radiologist measures them.** The measuring plane is the
image plane closest to the patient's axial plane: the two index axes other than the one
most aligned with the superior–inferior (LPS z) axis (for an axial acquisition exactly
the axial slices; ``measurement_plane_obliquity_deg`` gives the angle otherwise). On the
slice where the node's cross-sectional area is largest (ties: the longer long axis,
then the lower slice index), the boundary points of that cross-section are mapped to
mm in the plane and their convex hull taken:

- ``long_axis_mm``: the largest distance between two hull vertices (the longest
  diameter in the plane);
- ``short_axis_mm``: the longest chord of the hull perpendicular to that diameter (the
  longest diameter perpendicular to it). For a non-convex cross-section the chord may
  cross background; it is the caliper width, not a path inside the node.

The end points of both are returned in LPS mm.

**Ellipse and ellipsoid equivalents (moments).** Second moments of the node, treating
each voxel as a solid box (covariance of the voxel centres plus the voxel's own
``M M^T / 12``, ``M`` = direction × spacing):

- in the measuring slice, ``axial_ellipse_major_mm``/``minor`` = ``4 sqrt(lambda)`` — the
  axes of the ellipse with the same second moments (exact for an elliptical section);
- in 3-D, ``principal_axes_mm`` = ``2 sqrt(5 lambda)`` for the three eigenvalues — the
  full axes of the ellipsoid with the same second moments (exact for an ellipsoid);
  ``principal_directions`` are the matching unit vectors (LPS, sign: largest component
  positive).
  pyradiomics' Major/Minor/LeastAxisLength are ``4 sqrt(lambda)`` of the voxel-centre
  covariance alone; ``principal_axes_centres_lambda`` keeps those eigenvalues.

**Maximum 3-D diameter**: largest distance between two boundary points (via their
convex hull).

**Intercostal space**: from rib levels (:class:`RibLevels`): space *n* lies between rib
*n* and rib *n + 1*; the node's centroid decides. Nothing is assigned outside the ribs
given, and no level is assumed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from imln.quantitative._errors import (
    EmptyMaskError,
    GridMismatchError,
    QuantitativeError,
)
from imln.quantitative._io import Mask, Volume

__all__ = [
    "NodeMeasurement",
    "RibLevels",
    "SUVStatistics",
    "load_rib_levels",
    "measure_nodes",
    "measurement_plane",
]

Connectivity = Literal["face", "edge", "corner"]
Split = Literal["auto", "components", "labels"]
_CONNECTIVITY = {"face": 1, "edge": 2, "corner": 3}

#: Volume of the SUVpeak sphere, 1 cm³ (IBSI local/global intensity peak; PERCIST SUVpeak).
PEAK_SPHERE_VOLUME_MM3 = 1000.0


@dataclass(frozen=True)
class SUVStatistics:
    """SUV (body weight) of one node: max, mean and peak.

    ``suv_peak``: the highest mean SUV in a 1 cm³ sphere centred on any voxel of the node
    (IBSI "global intensity peak"); ``suv_peak_local``: the mean in the 1 cm³ sphere
    centred on the node's hottest voxel (IBSI "local intensity peak"; of several equally
    hot voxels, the highest). Sphere voxels are those whose centres lie within the
    sphere's radius, inside the image, whether or not they belong to the node.
    """

    suv_max: float
    suv_mean: float
    suv_peak: float
    suv_peak_local: float


@dataclass(frozen=True)
class NodeMeasurement:
    """Measurements of one node (definitions in the module docstring); lengths in mm, LPS coordinates."""

    node_id: int
    label: int
    label_name: str | None
    voxel_count: int
    volume_mm3: float
    centroid_mm: tuple[float, float, float]
    short_axis_mm: float
    long_axis_mm: float
    axial_slice_index: int
    axial_area_mm2: float
    long_axis_endpoints_mm: tuple[tuple[float, float, float], tuple[float, float, float]]
    short_axis_endpoints_mm: tuple[tuple[float, float, float], tuple[float, float, float]]
    axial_ellipse_major_mm: float
    axial_ellipse_minor_mm: float
    max_3d_diameter_mm: float
    principal_axes_mm: tuple[float, float, float]
    principal_directions: tuple[tuple[float, float, float], ...]
    principal_axes_centres_lambda: tuple[float, float, float]
    measurement_plane_obliquity_deg: float
    intercostal_space: int | None = None
    intercostal_note: str | None = None
    suv: SUVStatistics | None = None

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-ready mapping (SUV statistics as ``suv_max`` etc. at top level)."""
        d = asdict(self)
        suv = d.pop("suv")
        d.update(suv or {"suv_max": None, "suv_mean": None, "suv_peak": None, "suv_peak_local": None})
        return d


# --------------------------------------------------------------------------- rib levels


@dataclass(frozen=True)
class RibLevels:
    """Superior–inferior levels (LPS z, mm; larger = more superior) of numbered ribs.

    Give the level where each rib (or its costal cartilage) meets the parasternal region
    on the side of the nodes. Intercostal space *n* is the gap between rib *n* and rib
    *n + 1*; a node is assigned by its centroid. Both ribs bounding a space must be given.
    """

    z_mm: Mapping[int, float]
    source: str | None = None

    def __post_init__(self) -> None:
        if not self.z_mm:
            raise QuantitativeError("no rib level given", source=self.source, field="ribs")
        ribs = sorted(self.z_mm)
        for r in ribs:
            if not 1 <= r <= 12:
                raise QuantitativeError(f"rib number {r} is not 1–12", source=self.source, field=f"ribs.{r}")
        for a, b in zip(ribs, ribs[1:]):
            if not self.z_mm[a] > self.z_mm[b]:
                raise QuantitativeError(
                    f"rib {a} (z = {self.z_mm[a]:g} mm) is not superior to rib {b} (z = {self.z_mm[b]:g} mm); "
                    "levels are patient LPS z, which grows towards the head",
                    source=self.source,
                    field=f"ribs.{b}",
                )

    def intercostal_space(self, z: float) -> tuple[int | None, str | None]:
        """``(space, None)`` for a level ``z`` between two consecutive given ribs, else ``(None, reason)``."""
        ribs = sorted(self.z_mm)
        top, bottom = ribs[0], ribs[-1]
        if z > self.z_mm[top]:
            where = "above the first rib" if top == 1 else f"above rib {top}, the most superior rib given"
            return None, f"centroid z = {z:.1f} mm is {where}"
        if z <= self.z_mm[bottom]:
            return None, f"centroid z = {z:.1f} mm is at or below rib {bottom}, the most inferior rib given"
        for a, b in zip(ribs, ribs[1:]):
            if self.z_mm[b] < z <= self.z_mm[a]:
                if b != a + 1:
                    return None, f"centroid z = {z:.1f} mm lies between rib {a} and rib {b}; ribs between are not given"
                return a, None
        return None, "no bracketing ribs"  # pragma: no cover - unreachable after the checks above


def load_rib_levels(path: str | Path) -> RibLevels:
    """Rib levels from YAML/JSON: ``{"ribs": {1: z_mm or [x, y, z], 2: ..., ...}}`` (LPS, mm)."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except FileNotFoundError:
        raise QuantitativeError("no such file", source=p) from None
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise QuantitativeError(f"cannot be parsed as YAML/JSON: {exc}", source=p) from None
    if not isinstance(data, Mapping) or not isinstance(data.get("ribs"), Mapping):
        raise QuantitativeError("needs a mapping 'ribs: {rib number: z in mm or [x, y, z]}'", source=p, field="ribs")
    levels: dict[int, float] = {}
    for key, value in data["ribs"].items():
        try:
            rib = int(key)
        except (TypeError, ValueError):
            raise QuantitativeError(f"rib number {key!r} is not an integer", source=p, field="ribs") from None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            z = float(value)
        elif isinstance(value, Sequence) and len(value) == 3 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        ):
            z = float(value[2])
        else:
            raise QuantitativeError(f"rib {rib}: {value!r} is neither a z level in mm nor an [x, y, z] point",
                                    source=p, field=f"ribs.{rib}")
        if not math.isfinite(z):
            raise QuantitativeError(f"rib {rib}: level is not finite", source=p, field=f"ribs.{rib}")
        levels[rib] = z
    return RibLevels(levels, source=str(p))


# --------------------------------------------------------------------------- geometry helpers


def measurement_plane(volume: Volume) -> tuple[int, int, int, float]:
    """``(axis_a, axis_b, slice_axis, obliquity_deg)``: the index axes spanning the near-axial plane.

    ``slice_axis`` is the index axis whose direction is closest to LPS z; the measuring
    plane is spanned by the other two (in index order); ``obliquity_deg`` is the angle
    between that plane's normal and the z axis.
    """
    zcomp = np.abs(volume.direction[2, :])
    s = int(np.argmax(zcomp))
    a, b = [m for m in range(3) if m != s]
    n = np.cross(volume.direction[:, a], volume.direction[:, b])
    n /= np.linalg.norm(n)
    obliquity = math.degrees(math.acos(min(1.0, abs(float(n[2])))))
    return a, b, s, obliquity


def _boundary_points(node: np.ndarray) -> np.ndarray:
    """Midpoints between node voxels and their outside face-neighbours, as continuous array indices.

    ``node`` is a boolean array of any dimension; returns ``(n, ndim)`` in the array's axis order.
    """
    padded = np.pad(node, 1)
    pts = []
    for axis in range(node.ndim):
        for step in (1, -1):
            neighbour = np.roll(padded, -step, axis=axis)
            edge = padded & ~neighbour
            idx = np.argwhere(edge).astype(float) - 1.0
            idx[:, axis] += 0.5 * step
            pts.append(idx)
    return np.concatenate(pts)


def _hull_vertices(points: np.ndarray) -> np.ndarray:
    """Convex hull vertices (2-D: counter-clockwise); degenerate inputs fall back to all points."""
    pts = np.unique(points, axis=0)
    if len(pts) <= points.shape[1]:
        return pts
    try:
        return pts[ConvexHull(pts).vertices]
    except QhullError:
        try:
            return pts[ConvexHull(pts, qhull_options="QJ").vertices]
        except QhullError:
            return pts


def _diameter(points: np.ndarray) -> tuple[float, int, int]:
    """Largest pairwise distance among ``points`` and the indices of the pair (chunked)."""
    best, bi, bj = -1.0, 0, 0
    chunk = max(1, 4_000_000 // max(len(points), 1))
    for start in range(0, len(points), chunk):
        block = points[start : start + chunk]
        d2 = ((block[:, None, :] - points[None, :, :]) ** 2).sum(-1)
        flat = int(np.argmax(d2))
        i, j = divmod(flat, len(points))
        if d2[i, j] > best:
            best, bi, bj = float(d2[i, j]), start + i, j
    return math.sqrt(max(best, 0.0)), bi, bj


def _calipers_2d(points: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Long axis, perpendicular short axis and their end points for a 2-D point set (mm)."""
    hull = _hull_vertices(points)
    if len(hull) == 1:
        z = np.zeros((2, 2))
        return 0.0, 0.0, z + hull[0], z + hull[0]
    long_axis, i, j = _diameter(hull)
    p, q = hull[i], hull[j]
    u = (q - p) / long_axis
    v = np.array([-u[1], u[0]])
    tu = hull @ u
    tv = hull @ v
    n = len(hull)
    best, best_t, best_lo, best_hi = 0.0, float(tu[0]), float(tv[0]), float(tv[0])
    if n >= 3:
        nxt = np.roll(np.arange(n), -1)
        for t in tu:
            ta, tb = tu, tu[nxt]
            span = (np.minimum(ta, tb) <= t + 1e-12) & (np.maximum(ta, tb) >= t - 1e-12)
            vals = []
            for a in np.nonzero(span)[0]:
                b = nxt[a]
                if abs(tb[a] - ta[a]) < 1e-12:
                    vals.extend([tv[a], tv[b]])
                else:
                    w = (t - ta[a]) / (tb[a] - ta[a])
                    vals.append(tv[a] + w * (tv[b] - tv[a]))
            if len(vals) >= 2:
                lo, hi = min(vals), max(vals)
                if hi - lo > best:
                    best, best_t, best_lo, best_hi = hi - lo, float(t), lo, hi
    short_ends = np.array([best_t * u + best_lo * v, best_t * u + best_hi * v])
    return long_axis, best, np.array([p, q]), short_ends


def _box_covariance(m: np.ndarray) -> np.ndarray:
    """Covariance of a uniform point in the parallelepiped spanned by the columns of ``m``."""
    return m @ m.T / 12.0


# --------------------------------------------------------------------------- SUV statistics


def _peak_kernel(volume: Volume) -> np.ndarray:
    radius = (3.0 * PEAK_SPHERE_VOLUME_MM3 / (4.0 * math.pi)) ** (1.0 / 3.0)
    m = volume.direction * np.asarray(volume.spacing)[None, :]
    reach = [math.ceil(radius / s) + 1 for s in volume.spacing]  # generous for oblique grids
    ki, kj, kk = (np.arange(-r, r + 1) for r in reach)
    grid = np.stack(np.meshgrid(kk, kj, ki, indexing="ij"), axis=-1)[..., ::-1]  # (k, j, i, 3) as (i, j, k)
    dist = np.linalg.norm(grid @ m.T, axis=-1)
    kernel = (dist <= radius + 1e-9).astype(float)
    # trim empty borders
    nz = np.argwhere(kernel)
    lo, hi = nz.min(0), nz.max(0) + 1
    return kernel[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]


def _suv_statistics(suv: np.ndarray, node: np.ndarray, bbox: tuple[slice, ...], volume: Volume) -> SUVStatistics:
    kernel = _peak_kernel(volume)
    half = [s // 2 for s in kernel.shape]
    lo = [max(b.start - h, 0) for b, h in zip(bbox, half)]
    hi = [min(b.stop + h, n) for b, h, n in zip(bbox, half, suv.shape)]
    crop = tuple(slice(a, b) for a, b in zip(lo, hi))
    values = suv[crop].astype(float)
    ones = np.ones_like(values)
    sums = ndimage.convolve(values, kernel, mode="constant", cval=0.0)
    counts = ndimage.convolve(ones, kernel, mode="constant", cval=0.0)
    local_mean = sums / counts
    inside = np.zeros(values.shape, dtype=bool)
    inside[tuple(slice(b.start - a, b.stop - a) for b, a in zip(bbox, lo))] = node
    node_values = values[inside]
    peak = float(local_mean[inside].max())
    vmax = float(node_values.max())
    hottest = inside & (values == vmax)
    peak_local = float(local_mean[hottest].max())
    return SUVStatistics(
        suv_max=vmax,
        suv_mean=float(node_values.mean()),
        suv_peak=peak,
        suv_peak_local=peak_local,
    )


# --------------------------------------------------------------------------- nodes


def _nodes(
    mask: Mask, labels: Sequence[int] | None, split: Split, connectivity: Connectivity
) -> list[tuple[int, tuple[slice, slice, slice], np.ndarray]]:
    """``(label, bounding box, node voxels cropped to the box)`` for every node (definitions above)."""
    if connectivity not in _CONNECTIVITY:
        raise QuantitativeError(f"connectivity must be one of {', '.join(_CONNECTIVITY)} (got {connectivity!r})",
                                field="connectivity")
    if split not in ("auto", "components", "labels"):
        raise QuantitativeError(f"split must be auto, components or labels (got {split!r})", field="split")
    present = mask.labels
    if not present:
        raise EmptyMaskError("the mask has no foreground voxel (all zero)", source=mask.source, field="labels")
    if labels is not None:
        missing = [lab for lab in labels if lab not in present]
        if missing:
            raise EmptyMaskError(
                f"label{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))} not in the mask "
                f"(labels present: {', '.join(map(str, present))})",
                source=mask.source,
                field="label",
            )
        present = list(labels)
    by_components = split == "components" or (split == "auto" and len(present) == 1)
    structure = ndimage.generate_binary_structure(3, _CONNECTIVITY[connectivity])
    out: list[tuple[int, tuple[slice, slice, slice], np.ndarray]] = []
    for lab in present:
        binary = mask.array == lab
        if by_components:
            comp, _ = ndimage.label(binary, structure=structure)
            for c, box in enumerate(ndimage.find_objects(comp), start=1):
                if box is not None:
                    out.append((lab, box, comp[box] == c))
        else:
            box = ndimage.find_objects(binary.astype(np.int8))[0]
            out.append((lab, box, binary[box]))
    return out


def measure_nodes(
    mask: Mask,
    *,
    labels: Sequence[int] | None = None,
    split: Split = "auto",
    connectivity: Connectivity = "face",
    rib_levels: RibLevels | None = None,
    suv: Volume | None = None,
) -> list[NodeMeasurement]:
    """Measure every node of ``mask``; see the module docstring for each definition.

    ``suv`` is an SUV map on the mask's grid (from :func:`imln.quantitative.suv_volume`);
    when given, each node gets SUVmax/mean/peak. Nodes are numbered from the most
    superior (largest centroid z) down.
    """
    if suv is not None and suv.array.shape != mask.array.shape:
        raise GridMismatchError(f"SUV map shape {suv.array.shape} differs from mask shape {mask.array.shape}",
                                source=mask.source, field="size")
    a_axis, b_axis, s_axis, obliquity = measurement_plane(mask)
    lin = mask.direction * np.asarray(mask.spacing)[None, :]
    origin = np.asarray(mask.origin)
    # orthonormal in-plane basis (direction columns are orthonormal for DICOM/ITK grids)
    e1 = mask.direction[:, a_axis] / np.linalg.norm(mask.direction[:, a_axis])
    e2 = mask.direction[:, b_axis] - (mask.direction[:, b_axis] @ e1) * e1
    e2 /= np.linalg.norm(e2)
    plane_basis = np.stack([e1, e2], axis=1)  # 3 × 2
    pixel_area = float(np.linalg.norm(np.cross(lin[:, a_axis], lin[:, b_axis])))
    measured: list[dict[str, Any]] = []
    for lab, bbox, node in _nodes(mask, labels, split, connectivity):
        offset_ijk = np.array([bbox[2].start, bbox[1].start, bbox[0].start], dtype=float)
        kji = np.argwhere(node)
        ijk = kji[:, ::-1] + offset_ijk
        xyz = ijk @ lin.T + origin
        count = len(ijk)
        centroid = xyz.mean(axis=0)
        # 3-D moments
        cov_centres = np.cov(xyz.T, bias=True) if count > 1 else np.zeros((3, 3))
        lam_c = np.sort(np.clip(np.linalg.eigvalsh(cov_centres), 0, None))[::-1]
        lam_raw, vec = np.linalg.eigh(cov_centres + _box_covariance(lin))
        order = np.argsort(lam_raw)[::-1]
        lam = np.clip(lam_raw[order], 0, None)
        vec = vec[:, order]
        for c in range(3):
            if vec[np.argmax(np.abs(vec[:, c])), c] < 0:
                vec[:, c] = -vec[:, c]
        principal = tuple(float(2.0 * math.sqrt(5.0 * x)) for x in lam)
        directions = tuple(tuple(float(v) for v in vec[:, c]) for c in range(3))
        # 3-D boundary and maximum diameter
        bpts_kji = _boundary_points(node)
        bxyz = (bpts_kji[:, ::-1] + offset_ijk) @ lin.T + origin
        max3d, _, _ = _diameter(_hull_vertices(bxyz))
        # axial slice with the largest cross-section
        arr_axis = 2 - s_axis  # array axis of the slice index
        areas = node.sum(axis=tuple(ax for ax in range(3) if ax != arr_axis))
        best_slices = np.nonzero(areas == areas.max())[0]
        best: tuple[float, int, Any] | None = None
        for sl in best_slices:
            section = np.take(node, sl, axis=arr_axis)  # 2-D, axes in array order of the remaining two
            pts2 = _boundary_points(section)
            # remaining array axes (in order) correspond to index axes (descending): map back to (i, j, k)
            rem_arr = [ax for ax in range(3) if ax != arr_axis]
            full = np.zeros((len(pts2), 3))
            full[:, rem_arr[0]] = pts2[:, 0]
            full[:, rem_arr[1]] = pts2[:, 1]
            full[:, arr_axis] = sl
            pxyz = (full[:, ::-1] + offset_ijk) @ lin.T + origin
            uv = (pxyz - origin) @ plane_basis
            long_axis, short_axis, lend, send = _calipers_2d(uv)
            if best is None or long_axis > best[0] + 1e-9:
                plane_point = np.zeros(3)
                plane_point[s_axis] = sl + offset_ijk[s_axis]
                best = (long_axis, int(sl), (short_axis, lend, send, plane_point, section))
        assert best is not None
        long_axis, sl, (short_axis, lend, send, plane_point, section) = best
        p0 = plane_point @ lin.T + origin
        offset_n = p0 - plane_basis @ (plane_basis.T @ (p0 - origin)) - origin  # out-of-plane part

        def to_xyz(uv_pts: np.ndarray, shift: np.ndarray = offset_n) -> tuple[tuple[float, float, float], ...]:
            pts = uv_pts @ plane_basis.T + origin + shift
            return (tuple(float(v) for v in pts[0]), tuple(float(v) for v in pts[1]))

        # in-plane moments of the measuring section
        sec_kji = np.argwhere(section)
        rem_arr = [ax for ax in range(3) if ax != arr_axis]
        sec_full = np.zeros((len(sec_kji), 3))
        sec_full[:, rem_arr[0]] = sec_kji[:, 0]
        sec_full[:, rem_arr[1]] = sec_kji[:, 1]
        sec_full[:, arr_axis] = sl
        sec_uv = ((sec_full[:, ::-1] + offset_ijk) @ lin.T) @ plane_basis
        cov2 = np.cov(sec_uv.T, bias=True) if len(sec_uv) > 1 else np.zeros((2, 2))
        m2 = plane_basis.T @ lin[:, [a_axis, b_axis]]
        lam2 = np.sort(np.clip(np.linalg.eigvalsh(cov2 + _box_covariance(m2)), 0, None))[::-1]
        space, space_note = (None, None)
        if rib_levels is not None:
            space, space_note = rib_levels.intercostal_space(float(centroid[2]))
        suv_stats = _suv_statistics(suv.array, node, bbox, suv) if suv is not None else None
        measured.append(
            dict(
                label=int(lab),
                label_name=mask.label_names.get(int(lab)),
                voxel_count=int(count),
                volume_mm3=float(count * mask.voxel_volume_mm3),
                centroid_mm=tuple(float(v) for v in centroid),
                short_axis_mm=float(short_axis),
                long_axis_mm=float(long_axis),
                axial_slice_index=int(sl + offset_ijk[s_axis]),
                axial_area_mm2=float(section.sum() * pixel_area),
                long_axis_endpoints_mm=to_xyz(lend),
                short_axis_endpoints_mm=to_xyz(send),
                axial_ellipse_major_mm=float(4.0 * math.sqrt(lam2[0])),
                axial_ellipse_minor_mm=float(4.0 * math.sqrt(lam2[1])),
                max_3d_diameter_mm=float(max3d),
                principal_axes_mm=principal,
                principal_directions=directions,
                principal_axes_centres_lambda=tuple(float(x) for x in lam_c),
                measurement_plane_obliquity_deg=float(obliquity),
                intercostal_space=space,
                intercostal_note=space_note,
                suv=suv_stats,
            )
        )
    measured.sort(key=lambda d: (-d["centroid_mm"][2], d["label"]))
    return [NodeMeasurement(node_id=n, **d) for n, d in enumerate(measured, start=1)]
