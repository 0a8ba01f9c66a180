"""Measurements on synthetic phantoms of known geometry.

Tolerances are in voxels *along the measured direction* (the width of one voxel box
projected on that direction, :func:`phantoms.voxel_extent`):

- moment-based sizes (3-D principal axes, in-plane ellipse axes) and the centroid: within
  **half a voxel**;
- caliper diameters (long and short axis in the measured slice): within **half a voxel** of
  the analytic section, on 30 + 100 random oblique ellipsoids (two seeds), and within 0.15
  voxel on average. Face midpoints alone (each end known to ± half a voxel) were off by up to
  0.83 voxel here; the ends are fitted at sub-voxel precision (``_measure`` docstring). Each end
  stays within half a pixel extent of the face-midpoint outline, whatever the shape. On a larger
  fresh draw (300 phantoms, another seed) about 1 diameter in 200 exceeds half a voxel (worst
  about 0.7): the test states that rate rather than hiding it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("SimpleITK", reason="the 'quantitative' extra is not installed (SimpleITK)")

from imln.quantitative import (
    EmptyMaskError,
    Mask,
    QuantitativeError,
    RibLevels,
    measure_nodes,
)
from imln.quantitative._measure import (
    _boundary_pixels,
    _boundary_points,
    _calipers_2d,
    _fit_cap,
    _hull_vertices,
    _perpendicular_chord,
    _section_calipers,
    measurement_plane,
)

from .phantoms import Ellipsoid, ellipsoid_mask, rotation, voxel_extent


def random_phantoms(seed: int, n: int):
    """Ellipsoids of 5–18 mm axes, random orientation, on grids with anisotropic spacing
    (0.5–0.9 mm in plane, 1–2.5 mm slices) and oblique direction cosines (up to ~23° off the
    patient axes). Each axis spans at least three voxels along its own direction: thinner
    objects (a 5 mm node on 2.5 mm slices) are below what any voxel-based size resolves."""
    rng = np.random.default_rng(seed)
    made = 0
    while made < n:
        axes = tuple(float(x) for x in np.sort(rng.uniform(5.0, 18.0, 3))[::-1])
        rot = rotation(tuple(rng.normal(size=3)), rng.uniform(0, math.pi))
        direction = rotation(tuple(rng.normal(size=3)), rng.uniform(0, 0.4))
        spacing = (rng.uniform(0.5, 0.9), rng.uniform(0.5, 0.9), rng.uniform(1.0, 2.5))
        probe = Mask(np.zeros((1, 1, 1), np.uint8), spacing, (0, 0, 0), direction)
        if min(axes[a] / voxel_extent(probe, rot[:, a]) for a in range(3)) < 3.0:
            continue
        size = tuple(int(max(axes) / s) + 6 for s in spacing)
        shape = Ellipsoid(axes, rot, (0.0, 0.0, 0.0))
        made += 1
        yield shape, ellipsoid_mask([shape], spacing, direction, size)


PHANTOMS = list(random_phantoms(seed=20241124, n=30))
SECOND_SEED = list(random_phantoms(seed=7, n=100))  # a second draw: nothing is tuned to one set


class TestEllipsoidPhantoms:
    def test_principal_axes_within_half_a_voxel(self):
        """Each measured axis against the true axis it points along."""
        worst = 0.0
        for shape, mask in PHANTOMS:
            (node,) = measure_nodes(mask)
            for length, direction in zip(node.principal_axes_mm, node.principal_directions):
                d = np.asarray(direction)
                assert np.linalg.norm(d) == pytest.approx(1.0)
                true = int(np.argmax(np.abs(shape.rotation.T @ d)))
                assert abs(shape.rotation[:, true] @ d) > 0.9  # the directions are recovered too
                worst = max(worst, abs(length - shape.axes_mm[true]) / voxel_extent(mask, d))
        assert worst <= 0.5, f"worst principal-axis error {worst:.3f} voxel"

    @pytest.mark.parametrize("phantoms", [PHANTOMS, SECOND_SEED], ids=["seed 20241124", "seed 7"])
    def test_axial_section_calipers_and_ellipse(self, phantoms):
        """Against the analytic section of the ellipsoid by the measured slice's plane."""
        caliper_err, ellipse_err = [], []
        for shape, mask in phantoms:
            (node,) = measure_nodes(mask)
            major, minor, u_major, u_minor = shape.section(mask, node.axial_slice_index)
            t_long, t_short = voxel_extent(mask, u_major), voxel_extent(mask, u_minor)
            caliper_err.append(((node.long_axis_mm - major) / t_long, (node.short_axis_mm - minor) / t_short))
            ellipse_err.append(((node.axial_ellipse_major_mm - major) / t_long,
                                (node.axial_ellipse_minor_mm - minor) / t_short))
        caliper, ellipse = np.abs(caliper_err), np.abs(ellipse_err)
        assert ellipse.max() <= 0.5, f"ellipse axes: worst {ellipse.max():.3f} voxel"
        assert caliper.max() <= 0.5, f"calipers: worst {caliper.max():.3f} voxel"
        assert caliper.mean() <= 0.15, f"calipers: mean error {caliper.mean():.3f} voxel"
        # no systematic error either (face midpoints: +0.3 voxel, the longest chord picks outward errors)
        assert abs(np.mean(caliper_err)) <= 0.1, f"calipers: mean signed error {np.mean(caliper_err):+.3f} voxel"

    def test_calipers_on_a_large_fresh_draw(self):
        """Stress: 300 more phantoms from a seed drawn after the method was settled. A binary mask pins each
        caliper end only to a fraction of a pixel, so rare sections (about 1 in 200 here) land beyond half a
        voxel; stated as measured rather than hidden: >= 99% within half a voxel, all within one voxel, and
        the mean error and its bias as small as on the test sets above."""
        errors = []
        for shape, mask in random_phantoms(seed=31337, n=300):
            (node,) = measure_nodes(mask)
            major, minor, u_major, u_minor = shape.section(mask, node.axial_slice_index)
            errors.append(((node.long_axis_mm - major) / voxel_extent(mask, u_major),
                           (node.short_axis_mm - minor) / voxel_extent(mask, u_minor)))
        errors = np.asarray(errors)
        within = np.mean(np.abs(errors) <= 0.5)
        assert within >= 0.99, f"{100 * within:.1f}% of caliper diameters within half a voxel"
        assert np.abs(errors).max() <= 1.0, f"worst {np.abs(errors).max():.3f} voxel"
        assert np.abs(errors).mean() <= 0.15 and abs(errors.mean()) <= 0.1

    def test_measured_slice_is_the_largest_section(self):
        for _shape, mask in PHANTOMS[:8]:
            (node,) = measure_nodes(mask)
            _, _, s_axis, _ = measurement_plane(mask)
            arr_axis = 2 - s_axis
            areas = (mask.array > 0).sum(axis=tuple(a for a in range(3) if a != arr_axis))
            assert areas[node.axial_slice_index] == areas.max()

    def test_volume_and_centroid(self):
        for shape, mask in PHANTOMS:
            (node,) = measure_nodes(mask)
            assert node.volume_mm3 == pytest.approx(mask.array.sum() * np.prod(mask.spacing))
            # voxelisation: volume within 6% for these sizes (boundary voxels are the uncertainty)
            assert node.volume_mm3 == pytest.approx(shape.volume_mm3, rel=0.06)
            for axis in range(3):
                unit = np.eye(3)[axis]
                assert abs(node.centroid_mm[axis] - shape.centre_mm[axis]) <= 0.5 * voxel_extent(mask, unit)

    def test_max_3d_diameter_brackets_the_major_axis(self):
        """The longest chord of an ellipsoid is its major axis; the digitised one may lie along any
        direction, so it is at most one voxel diagonal longer and one voxel (along the axis) shorter."""
        for shape, mask in PHANTOMS:
            (node,) = measure_nodes(mask)
            a = int(np.argmax(shape.axes_mm))
            major = shape.axes_mm[a]
            assert major - voxel_extent(mask, shape.rotation[:, a]) <= node.max_3d_diameter_mm
            assert node.max_3d_diameter_mm <= major + float(np.linalg.norm(mask.spacing))

    def test_endpoints_reproduce_the_diameters_and_are_perpendicular(self):
        _, mask = PHANTOMS[0]
        (node,) = measure_nodes(mask)
        p, q = np.asarray(node.long_axis_endpoints_mm)
        r, s = np.asarray(node.short_axis_endpoints_mm)
        assert np.linalg.norm(q - p) == pytest.approx(node.long_axis_mm)
        assert np.linalg.norm(s - r) == pytest.approx(node.short_axis_mm)
        assert abs(np.dot(q - p, s - r)) < 1e-6 * node.long_axis_mm * node.short_axis_mm
        # all four ends lie in the measured slice's plane
        _, _, s_axis, _ = measurement_plane(mask)
        for point in (p, q, r, s):
            assert mask.physical_to_index(point)[s_axis] == pytest.approx(node.axial_slice_index, abs=1e-6)


def _hull_width_and_chord(section: np.ndarray, to_plane: np.ndarray, u: np.ndarray) -> tuple[float, float]:
    """Face-midpoint outline of a section: its width along ``u`` and its longest chord perpendicular to ``u``."""
    hull = _hull_vertices(_boundary_points(section) @ to_plane.T)
    return float(np.ptp(hull @ u)), _perpendicular_chord(hull, u)[0]


def _pixel_extent(to_plane: np.ndarray, n: np.ndarray) -> float:
    return float(np.abs(to_plane.T @ n).sum())


class TestHandWorkedCases:
    def test_axis_aligned_box(self):
        """A 10 × 6 × 3 voxel box at 0.5 × 0.8 × 2 mm: every number by hand.

        Boundary points lie half a voxel beyond the outer voxel centres, so the box spans
        5.0 × 4.8 × 6.0 mm. In a slice, relative to its centre, the face-midpoint hull's extreme
        points are (±2.5, ±2.0) and (±2.25, ±2.4) mm, so its longest diameter is
        2·sqrt(2.25² + 2.4²) = 6.5795 mm. The caliper ends are fitted assuming a smooth outline, so
        the box's corners are rounded: the long axis is no longer that number but lies within one
        pixel extent of it along the axis (half a pixel extent per end), and — as for any box
        holding exactly these voxel centres — between the diagonals of the centre box
        (4.5 × 4.0 mm: 6.0208 mm) and of the voxel-face box (5.0 × 4.8 mm: 6.9311 mm).
        """
        arr = np.zeros((5, 10, 14), dtype=np.uint8)
        arr[1:4, 2:8, 2:12] = 1  # k: 3 slices, j: 6 rows, i: 10 columns
        mask = Mask(arr, (0.5, 0.8, 2.0), (0.0, 0.0, 0.0), np.eye(3))
        (node,) = measure_nodes(mask)
        assert node.voxel_count == 180
        assert node.volume_mm3 == pytest.approx(180 * 0.5 * 0.8 * 2.0)
        assert node.centroid_mm == pytest.approx((6.5 * 0.5, 4.5 * 0.8, 2.0 * 2.0))
        # the face-midpoint hull's calipers, by hand (in-plane (row, column) = (y, x) offsets in mm)
        section = arr[2].astype(bool)
        to_plane = np.array([[0.0, 0.5], [0.8, 0.0]])  # (row, column) → (x, y) mm
        hull_long, _, _, _ = _calipers_2d(_boundary_points(section) @ to_plane.T)
        assert hull_long == pytest.approx(2 * math.hypot(2.25, 2.4))
        assert hull_long == pytest.approx(6.5795, abs=1e-4)
        p, q = np.asarray(node.long_axis_endpoints_mm)
        u = (q - p)[:2] / node.long_axis_mm
        assert abs(node.long_axis_mm - hull_long) <= 0.5 * abs(u[0]) + 0.8 * abs(u[1])
        assert math.hypot(4.5, 4.0) <= node.long_axis_mm <= math.hypot(5.0, 4.8)
        # 3-D principal axes of a solid 5 × 4.8 × 6 mm box: variance L²/12 → 2·sqrt(5·L²/12)
        expected = sorted((2 * math.sqrt(5 * L**2 / 12) for L in (5.0, 4.8, 6.0)), reverse=True)
        assert node.principal_axes_mm == pytest.approx(expected)
        # in-plane ellipse axes: 4·sqrt(L²/12)
        assert node.axial_ellipse_major_mm == pytest.approx(4 * math.sqrt(25 / 12))
        assert node.axial_ellipse_minor_mm == pytest.approx(4 * math.sqrt(4.8**2 / 12))

    def test_straight_bar(self):
        """A 12 × 1 × 1 voxel bar at 0.5 × 0.8 × 2 mm, voxel centres x = 0.5 … 6.0 mm, y = 0.8 mm.

        On a straight run of pixels the node pixels and the outside ones are separated with the
        largest margin by the line midway between them, i.e. through the face midpoints: the
        ends at x = 0.25 and 6.25 mm (long axis 12 × 0.5 = 6.0 mm), the sides at y = 0.4 and
        1.2 mm (short axis 0.8 mm), measured across the middle of the bar (x = 3.25 mm).
        """
        arr = np.zeros((3, 3, 14), dtype=np.uint8)
        arr[1, 1, 1:13] = 1
        (node,) = measure_nodes(Mask(arr, (0.5, 0.8, 2.0), (0.0, 0.0, 0.0), np.eye(3)))
        assert node.long_axis_mm == pytest.approx(6.0)
        np.testing.assert_allclose(sorted(node.long_axis_endpoints_mm), [(0.25, 0.8, 2.0), (6.25, 0.8, 2.0)])
        assert node.short_axis_mm == pytest.approx(0.8)
        np.testing.assert_allclose(sorted(node.short_axis_endpoints_mm), [(3.25, 0.4, 2.0), (3.25, 1.2, 2.0)])

    def test_single_voxel(self):
        """Each end midway between the voxel centre and the outside centre 0.7 mm beyond it."""
        arr = np.zeros((3, 3, 3), dtype=np.uint8)
        arr[1, 1, 1] = 1
        (node,) = measure_nodes(Mask(arr, (0.7, 0.7, 3.0), (0, 0, 0), np.eye(3)))
        assert node.long_axis_mm == pytest.approx(0.7)  # boundary points (±0.35, 0), (0, ±0.35)
        assert node.short_axis_mm == pytest.approx(0.7)
        assert node.max_3d_diameter_mm == pytest.approx(3.0)

    def test_calipers_match_brute_force_on_an_irregular_shape(self):
        """Hull-based calipers (the starting point of the fitted ones) equal an O(n²) search over
        every boundary point."""
        rng = np.random.default_rng(7)
        section = np.zeros((40, 40), dtype=bool)
        for _ in range(12):
            c = rng.integers(10, 30, 2)
            r = rng.integers(2, 6)
            yy, xx = np.mgrid[:40, :40]
            section |= (yy - c[0]) ** 2 + (xx - c[1]) ** 2 <= r**2
        pts = _boundary_points(section) * np.array([0.8, 0.6])
        long_axis, short_axis, ends, _ = _calipers_2d(pts)
        d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
        assert long_axis == pytest.approx(d.max())
        # perpendicular chord of the hull: scan lines perpendicular to the long axis
        u = (ends[1] - ends[0]) / long_axis
        v = np.array([-u[1], u[0]])
        from scipy.spatial import ConvexHull

        hull = pts[ConvexHull(pts).vertices]
        best = 0.0
        for t in np.linspace((hull @ u).min(), (hull @ u).max(), 4001):
            vals = []
            for a, b in zip(hull, np.roll(hull, -1, axis=0)):
                ta, tb = a @ u, b @ u
                if (ta - t) * (tb - t) <= 0 and ta != tb:
                    w = (t - ta) / (tb - ta)
                    vals.append((a + w * (b - a)) @ v)
            if len(vals) >= 2:
                best = max(best, max(vals) - min(vals))
        assert short_axis >= best - 1e-9
        assert short_axis == pytest.approx(best, abs=0.01)


def _cap_points(tilted: bool, seed: int):
    """Boundary pixel centres (mm) near one caliper end of a digitised ellipse on anisotropic,
    rotated pixels: at the end of its major axis (apex form) or at a chord end off its minor axis,
    where the outline slopes (tilted form)."""
    rng = np.random.default_rng(seed)
    to_plane = rotation((0, 0, 1), rng.uniform(0, math.pi))[:2, :2] @ np.diag(rng.uniform(0.5, 0.9, 2))
    a, b = rng.uniform(4.0, 9.0), rng.uniform(2.0, 4.0)  # semi-axes, mm
    axis = np.array([math.cos(rng.uniform(0, math.pi)), 0.0])
    axis[1] = math.sqrt(1 - axis[0] ** 2)
    other = np.array([-axis[1], axis[0]])
    offset = rng.uniform(-0.5, 0.5, 2)
    index = np.stack(np.mgrid[-40:41, -40:41], -1)  # pixel (row, column) offsets from the centre pixel
    xy = index @ to_plane.T + offset
    section = (xy @ axis / a) ** 2 + (xy @ other / b) ** 2 <= 1.0
    inside, outside = ((pts - 40.0) @ to_plane.T + offset for pts in _boundary_pixels(section))
    if tilted:  # at 40 % of the major axis, the outline's normal is tilted from the minor axis
        normal = other
        origin = 0.4 * a * axis + b * math.sqrt(1 - 0.16) * other
    else:
        normal = axis
        origin = a * axis
    extent, across = _pixel_extent(to_plane, normal), _pixel_extent(to_plane, np.array([-normal[1], normal[0]]))
    keep_i = np.linalg.norm(inside - origin, axis=1) <= 2.5
    keep_o = np.linalg.norm(outside - origin, axis=1) <= 2.5
    return inside[keep_i], outside[keep_o], origin, normal, extent, across


class TestCapFit:
    """``_fit_cap`` (a grid search) against a linear programme solved by scipy (HiGHS)."""

    @pytest.mark.parametrize("seed", [1, 2, 3, 4])
    @pytest.mark.parametrize("tilted", [False, True], ids=["apex", "tilted"])
    def test_largest_margin_matches_linear_programme(self, tilted, seed):
        from scipy.optimize import linprog

        inside, outside, origin, normal, extent, across = _cap_points(tilted, seed)
        cap = _fit_cap(inside, outside, origin, normal, extent, across, 100.0, 100.0, tilted=tilted)
        tangent = np.array([-normal[1], normal[0]])
        di, si = (inside - origin) @ normal, (inside - origin) @ tangent
        do, so = (outside - origin) @ normal, (outside - origin) @ tangent
        # the curve returned does separate the pixels by its margin
        assert min((cap.alpha + cap.slope * si - cap.curvature * si**2 - di).min(),
                   (do - cap.alpha - cap.slope * so + cap.curvature * so**2).min()) == pytest.approx(cap.margin, abs=1e-9)
        c_max = 2.0 / extent
        if tilted:  # variables alpha, slope, c, margin: a single linear programme
            a_ub = np.concatenate([np.stack([-np.ones_like(si), -si, si**2, np.ones_like(si)], 1),
                                   np.stack([np.ones_like(so), so, -(so**2), np.ones_like(so)], 1)])
            b_ub = np.concatenate([-di, do])
            bounds = [(None, None), (-math.tan(math.radians(75)), math.tan(math.radians(75))), (0, c_max), (None, None)]
            best = -linprog([0, 0, 0, -1.0], A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs").fun
        else:  # for each apex position: height, c, margin
            best = -np.inf
            for apex in np.linspace(cap.lo, cap.hi, 801):
                wi, wo = (si - apex) ** 2, (so - apex) ** 2
                a_ub = np.concatenate([np.stack([-np.ones_like(si), wi, np.ones_like(si)], 1),
                                       np.stack([np.ones_like(so), -wo, np.ones_like(so)], 1)])
                b_ub = np.concatenate([-di, do])
                res = linprog([0, 0, -1.0], A_ub=a_ub, b_ub=b_ub, bounds=[(None, None), (0, c_max), (None, None)],
                              method="highs")
                best = max(best, -res.fun)
        assert cap.margin > 0  # a smooth outline: the pixels are separable
        assert cap.margin == pytest.approx(best, abs=0.02 * extent)  # the grid search: within 2 % of a pixel

    def test_irregular_sections_stay_within_half_a_pixel_of_the_face_midpoint_outline(self):
        """Whatever the shape: the two axes are perpendicular, the long one is the longer, and each
        end lies within half a pixel extent (along the axis) of the face-midpoint outline."""
        rng = np.random.default_rng(3)
        yy, xx = np.mgrid[:36, :36]
        for k in range(40):
            section = np.zeros((36, 36), dtype=bool)
            for _ in range(rng.integers(1, 6)):
                c, r = rng.uniform(8, 28, 2), rng.uniform(0.5, 7)
                section |= (yy - c[0]) ** 2 + (xx - c[1]) ** 2 <= r * r
            if k % 4 == 3:
                section &= rng.random(section.shape) < 0.8  # ragged, holes, several pieces
            if not section.any():
                continue
            to_plane = rotation((0, 0, 1), rng.uniform(0, math.pi))[:2, :2] @ np.diag(rng.uniform(0.4, 1.2, 2))
            long_axis, short_axis, long_ends, short_ends = _section_calipers(section, to_plane)
            assert long_axis >= short_axis >= 0
            assert np.linalg.norm(long_ends[1] - long_ends[0]) == pytest.approx(long_axis)
            assert np.linalg.norm(short_ends[1] - short_ends[0]) == pytest.approx(short_axis)
            if short_axis == 0:
                continue
            u = (long_ends[1] - long_ends[0]) / long_axis
            v = (short_ends[1] - short_ends[0]) / short_axis
            assert abs(u @ v) < 1e-9
            eu, ev = _pixel_extent(to_plane, u), _pixel_extent(to_plane, v)
            width, chord = _hull_width_and_chord(section, to_plane, u)
            swapped_width, swapped_chord = _hull_width_and_chord(section, to_plane, v)
            as_measured = abs(long_axis - width) <= eu + 1e-9 and abs(short_axis - chord) <= ev + 1e-9
            swapped = abs(short_axis - swapped_width) <= ev + 1e-9 and abs(long_axis - swapped_chord) <= eu + 1e-9
            assert as_measured or swapped


class TestNodes:
    def _two_nodes(self, labels=None):
        a = Ellipsoid((8.0, 6.0, 5.0), np.eye(3), (-8.0, 0.0, 10.0))
        b = Ellipsoid((12.0, 9.0, 7.0), rotation((0, 0, 1), 0.5), (8.0, 0.0, -12.0))
        return a, b, ellipsoid_mask([a, b], (0.6, 0.6, 1.5), np.eye(3), (60, 30, 40), labels=labels)

    def test_components_are_nodes_ordered_superior_first(self):
        _, _, mask = self._two_nodes()
        nodes = measure_nodes(mask)
        assert [n.node_id for n in nodes] == [1, 2]
        assert nodes[0].centroid_mm[2] > nodes[1].centroid_mm[2]
        assert nodes[0].principal_axes_mm[0] == pytest.approx(8.0, abs=0.5 * 0.6)
        assert nodes[1].principal_axes_mm[0] == pytest.approx(12.0, abs=0.5 * 0.6 * math.sqrt(2))

    def test_labels_are_nodes_and_can_be_chosen(self):
        _, _, mask = self._two_nodes(labels=[3, 5])
        assert [n.label for n in measure_nodes(mask)] == [3, 5]
        (only,) = measure_nodes(mask, labels=[5])
        assert only.label == 5
        with pytest.raises(EmptyMaskError, match=r"label 4 not in the mask \(labels present: 3, 5\)"):
            measure_nodes(mask, labels=[4])

    def test_connectivity(self):
        arr = np.zeros((4, 4, 4), dtype=np.uint8)
        arr[1, 1, 1] = arr[2, 2, 2] = 1  # corner-touching only
        mask = Mask(arr, (1, 1, 1), (0, 0, 0), np.eye(3))
        assert len(measure_nodes(mask, connectivity="face")) == 2
        assert len(measure_nodes(mask, connectivity="edge")) == 2
        assert len(measure_nodes(mask, connectivity="corner")) == 1
        with pytest.raises(QuantitativeError, match="connectivity must be one of face, edge, corner"):
            measure_nodes(mask, connectivity="diagonal")  # type: ignore[arg-type]

    def test_empty_mask(self):
        mask = Mask(np.zeros((3, 3, 3), dtype=np.uint8), (1, 1, 1), (0, 0, 0), np.eye(3), source="empty.nii.gz")
        with pytest.raises(EmptyMaskError, match=r"^empty.nii.gz: labels: the mask has no foreground voxel"):
            measure_nodes(mask)


class TestObliqueAcquisitions:
    def test_sagittal_acquisition_measures_in_the_axial_reformat(self):
        """Index axes: i = anterior→posterior, j = superior→inferior, k = right→left (a sagittal stack).
        The axial measuring plane is then spanned by i and k, and it is exactly axial."""
        direction = np.array([[0, 0, 1], [1, 0, 0], [0, -1, 0]], dtype=float)
        shape = Ellipsoid((10.0, 6.0, 14.0), np.eye(3), (0, 0, 0))  # 10 mm L-R, 6 mm A-P, 14 mm S-I
        mask = ellipsoid_mask([shape], (0.5, 0.5, 0.8), direction, (30, 40, 20))
        a, b, s, obliquity = measurement_plane(mask)
        assert (a, b, s) == (0, 2, 1)
        assert obliquity == pytest.approx(0.0, abs=1e-9)
        (node,) = measure_nodes(mask)
        assert node.long_axis_mm == pytest.approx(10.0, abs=0.4)  # L-R, ≤ half a voxel (0.8 mm)
        assert node.short_axis_mm == pytest.approx(6.0, abs=0.25)  # A-P, ≤ half a voxel (0.5 mm)
        assert node.axial_ellipse_major_mm == pytest.approx(10.0, abs=0.4)
        assert node.axial_ellipse_minor_mm == pytest.approx(6.0, abs=0.25)

    def test_reports_obliquity(self):
        tilt = math.radians(12.0)
        direction = rotation((1, 0, 0), tilt)
        mask = ellipsoid_mask([Ellipsoid((6, 6, 6), np.eye(3), (0, 0, 0))], (0.7, 0.7, 1.0), direction, (16, 16, 12))
        (node,) = measure_nodes(mask)
        assert node.measurement_plane_obliquity_deg == pytest.approx(12.0)


class TestIntercostalSpace:
    def test_assignment_between_given_ribs(self):
        ribs = RibLevels({1: 120.0, 2: 95.0, 3: 70.0, 4: 48.0})
        assert ribs.intercostal_space(100.0) == (1, None)
        assert ribs.intercostal_space(95.0) == (2, None)  # on rib 2: belongs to the space below it
        assert ribs.intercostal_space(60.0) == (3, None)
        space, why = ribs.intercostal_space(130.0)
        assert space is None and "above the first rib" in why
        space, why = ribs.intercostal_space(40.0)
        assert space is None and "below rib 4" in why

    def test_missing_rib_between(self):
        space, why = RibLevels({1: 120.0, 3: 70.0}).intercostal_space(90.0)
        assert space is None and "between rib 1 and rib 3" in why

    def test_ribs_must_descend(self):
        with pytest.raises(QuantitativeError, match=r"ribs.3: rib 2 \(z = 80 mm\) is not superior to rib 3"):
            RibLevels({2: 80.0, 3: 90.0})

    def test_nodes_get_their_space(self):
        a = Ellipsoid((6.0, 5.0, 5.0), np.eye(3), (0.0, 0.0, 10.0))
        b = Ellipsoid((6.0, 5.0, 5.0), np.eye(3), (0.0, 0.0, -12.0))
        mask = ellipsoid_mask([a, b], (0.8, 0.8, 1.0), np.eye(3), (20, 20, 45))
        ribs = RibLevels({1: 25.0, 2: 0.0, 3: -20.0})
        n1, n2 = measure_nodes(mask, rib_levels=ribs)
        assert (n1.intercostal_space, n2.intercostal_space) == (1, 2)
