"""Readers: geometry kept exactly (spacing, orientation, physical coordinates), and clear errors.

Real files come from the pydicom wheel (``pydicom/data/test_files``; provenance in its
README.txt): a DICOM-SEG made with dcmqi (``liver_1frame.dcm``), an RT Structure Set
(``rtstruct.dcm``), small CT/MR series from DICOMDIR tests, and a truncated MR file; and
from the nibabel wheel (``nibabel/tests/data/anatomical.nii``).
"""

from __future__ import annotations

import gzip
import math
import shutil

import numpy as np
import pytest

sitk = pytest.importorskip("SimpleITK", reason="the 'quantitative' extra is not installed (SimpleITK)")
pytest.importorskip("pydicom", reason="the 'quantitative' extra is not installed (pydicom)")
pytest.importorskip("highdicom", reason="the 'quantitative' extra is not installed (highdicom)")

from imln.quantitative import (
    EmptyMaskError,
    GridMismatchError,
    ImageReadError,
    Mask,
    QuantitativeError,
    Volume,
    measure_nodes,
    read_image,
    read_mask,
)

from .conftest import pydicom_file, pydicom_folder
from .phantoms import (
    Ellipsoid,
    ellipsoid_mask,
    rotation,
    write_dicom_series,
    write_image,
)


def oblique_phantom() -> tuple[Ellipsoid, Mask]:
    shape = Ellipsoid((14.0, 9.0, 7.0), rotation((1, 2, 0.5), 0.7), (12.0, -30.0, 55.0))
    direction = rotation((0.3, -0.2, 1.0), 0.35)
    mask = ellipsoid_mask([shape], (0.62, 0.71, 1.9), direction, (36, 32, 16), centre_mm=shape.centre_mm)
    return shape, mask


class TestSimpleITKFormats:
    @pytest.mark.parametrize("suffix", [".nii.gz", ".nrrd", ".mha"])
    def test_round_trip_keeps_geometry(self, tmp_path, suffix):
        _, mask = oblique_phantom()
        path = write_image(tmp_path / f"mask{suffix}", mask)
        back = read_mask(path)
        assert back.size == mask.size
        np.testing.assert_allclose(back.spacing, mask.spacing, rtol=1e-6)
        np.testing.assert_allclose(back.origin, mask.origin, atol=1e-4)
        np.testing.assert_allclose(back.direction, mask.direction, atol=1e-6)
        np.testing.assert_array_equal(back.array, mask.array)

    def test_nifti_affine_agrees_with_nibabel(self):
        """nibabel reports RAS+; imln (like ITK) LPS: x and y change sign, nothing else."""
        nib = pytest.importorskip("nibabel", reason="nibabel (test dependency) is not installed")
        from pathlib import Path

        path = Path(nib.__file__).parent / "tests" / "data" / "anatomical.nii"
        vol = read_image(path)
        ras = nib.load(str(path)).affine
        lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ ras
        np.testing.assert_allclose(vol.affine, lps, atol=1e-4)
        corner = np.array([vol.size[0] - 1, 0, vol.size[2] - 1], dtype=float)
        np.testing.assert_allclose(vol.index_to_physical(corner), (lps @ np.r_[corner, 1.0])[:3], atol=1e-4)
        np.testing.assert_allclose(vol.physical_to_index(vol.index_to_physical(corner)), corner, atol=1e-9)

    def test_corrupt_and_truncated_files(self, tmp_path):
        _, mask = oblique_phantom()
        good = write_image(tmp_path / "mask.nii.gz", mask)
        truncated = tmp_path / "truncated.nii.gz"
        truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
        with pytest.raises(ImageReadError, match=r"truncated.nii.gz: gzip: is truncated: the gzip stream ends before "
                                                 r"its end-of-stream marker"):
            read_image(truncated)  # ITK alone would fill the missing voxels with zeros, silently
        plain = write_image(tmp_path / "mask.nii", mask)
        cut = tmp_path / "cut.nii"
        cut.write_bytes(plain.read_bytes()[:-100])
        n = 36 * 32 * 16
        with pytest.raises(ImageReadError, match=rf"cut.nii: voxel data: is truncated: the header declares {n} bytes "
                                                 rf"of voxel data, the file holds {n - 100}"):
            read_image(cut)
        nrrd = write_image(tmp_path / "mask.nrrd", mask)
        cut_nrrd = tmp_path / "cut.nrrd"
        cut_nrrd.write_bytes(nrrd.read_bytes()[:-100])
        with pytest.raises(ImageReadError, match=r"cut.nrrd: cannot be read: the file is corrupt, truncated"):
            read_image(cut_nrrd)
        garbage = tmp_path / "garbage.nrrd"
        garbage.write_bytes(b"NRRD0004\nthis is not a header\n")
        with pytest.raises(ImageReadError, match=r"garbage.nrrd: cannot be read"):
            read_image(garbage)
        with pytest.raises(ImageReadError, match=r"missing.nii.gz: no such file or folder"):
            read_image(tmp_path / "missing.nii.gz")
        text = tmp_path / "notes.txt"
        text.write_text("hello")
        with pytest.raises(ImageReadError, match=r"notes.txt: format: is neither a DICOM file nor one of"):
            read_image(text)

    def test_probability_map_is_refused_as_a_mask(self, tmp_path):
        _, mask = oblique_phantom()
        prob = Volume(mask.array * 0.37, mask.spacing, mask.origin, mask.direction)
        path = write_image(tmp_path / "prob.nii.gz", prob)
        with pytest.raises(QuantitativeError, match=r"prob.nii.gz: voxel values: mask has non-integer values "
                                                     r"\(e.g. 0.37\)"):
            read_mask(path)


class TestGridMismatch:
    def _pair(self, tmp_path, **change):
        _, mask = oblique_phantom()
        image = Volume(mask.array.astype(np.float32) * 100, mask.spacing, mask.origin, mask.direction)
        img_path = write_image(tmp_path / "image.nii.gz", image)
        other = dict(spacing=mask.spacing, origin=mask.origin, direction=mask.direction, array=mask.array)
        other.update(change)
        m = Mask(other["array"], other["spacing"], other["origin"], other["direction"])
        return read_image(img_path), write_image(tmp_path / "mask.nii.gz", m)

    def test_spacing(self, tmp_path):
        image, mask_path = self._pair(tmp_path, spacing=(0.62, 0.71, 2.5))
        with pytest.raises(GridMismatchError) as info:
            read_mask(mask_path, image)
        text = str(info.value)
        assert text.startswith(f"{mask_path}: spacing: the mask's voxel grid differs from that of the image")
        assert "spacing (0.62, 0.71, 1.9) vs (0.62, 0.71, 2.5) mm" in text

    def test_size_origin_direction_all_named(self, tmp_path):
        arr = np.zeros((16, 32, 35), dtype=np.uint8)
        arr[5, 5, 5] = 1
        image, mask_path = self._pair(tmp_path, array=arr, origin=(0.0, 0.0, 0.0), direction=np.eye(3))
        with pytest.raises(GridMismatchError) as info:
            read_mask(mask_path, image)
        assert info.value.field == "size, origin, direction"
        assert "size (36, 32, 16) vs (35, 32, 16) voxels" in str(info.value)
        assert "origin (" in str(info.value) and "vs (0, 0, 0) mm" in str(info.value)


class TestDicomSeries:
    def test_oblique_series_matches_simpleitk_and_the_phantom(self, tmp_path):
        shape, mask = oblique_phantom()
        image = Volume(mask.array.astype(np.float64) * 1000.0 + 20.0, mask.spacing, mask.origin, mask.direction)
        write_dicom_series(tmp_path / "mr", image, modality="MR", slopes=[0.5, 1.0, 2.0])
        vol = read_image(tmp_path / "mr")
        np.testing.assert_allclose(vol.spacing, mask.spacing, rtol=1e-8)
        np.testing.assert_allclose(vol.origin, mask.origin, atol=1e-8)
        np.testing.assert_allclose(vol.direction, mask.direction, atol=1e-8)
        np.testing.assert_allclose(vol.array, image.array, atol=1e-3)  # per-slice slopes applied
        assert vol.modality == "MR" and len(vol.dicom) == 16
        # SimpleITK (GDCM) reads the same grid
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(tmp_path / "mr")))
        ref = reader.Execute()
        np.testing.assert_allclose(vol.origin, ref.GetOrigin(), atol=1e-4)
        np.testing.assert_allclose(vol.spacing, ref.GetSpacing(), rtol=1e-5)
        np.testing.assert_allclose(vol.direction.ravel(), ref.GetDirection(), atol=1e-5)
        # a NIfTI mask on the same grid measures the phantom
        mask_path = write_image(tmp_path / "mask.nii.gz", mask)
        (node,) = measure_nodes(read_mask(mask_path, vol))
        major = max(shape.axes_mm)
        assert node.principal_axes_mm[0] == pytest.approx(major, abs=0.5 * float(np.linalg.norm(mask.spacing)))
        assert node.centroid_mm == pytest.approx(shape.centre_mm, abs=0.5)

    def test_real_ct_series_from_pydicom(self):
        """pydicom's CT5N: 5 slices, files in descending z; imln sorts them like SimpleITK."""
        folder = pydicom_folder("dicomdirtests/98892001/CT5N")
        vol = read_image(folder)
        reader = sitk.ImageSeriesReader()
        files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder))
        reader.SetFileNames(files)
        ref = reader.Execute()
        assert vol.size == ref.GetSize() == (16, 16, 5)
        np.testing.assert_allclose(vol.spacing, ref.GetSpacing(), rtol=1e-5)
        np.testing.assert_allclose(vol.origin, ref.GetOrigin(), atol=1e-4)
        np.testing.assert_allclose(vol.direction.ravel(), ref.GetDirection(), atol=1e-6)
        np.testing.assert_allclose(vol.array, sitk.GetArrayFromImage(ref), atol=1e-3)
        assert vol.spacing[2] == pytest.approx(2.5)

    def test_series_with_a_gap_is_refused(self):
        """pydicom's CT2: a slice at z = −99.48 mm far from the others (1.25 mm apart)."""
        with pytest.raises(ImageReadError, match=r"ImagePositionPatient: slice spacing is not uniform: 202.5 mm "
                                                 r"between 17106 and 17136, 1.25 mm elsewhere"):
            read_image(pydicom_folder("dicomdirtests/77654033/CT2"))

    def test_radial_slices_are_refused(self):
        """pydicom's MR700: seven radially rotated slices — no regular grid."""
        with pytest.raises(ImageReadError, match=r"ImageOrientationPatient: ImageOrientationPatient .* differs"):
            read_image(pydicom_folder("dicomdirtests/98892003/MR700"))

    def test_several_series_must_be_chosen(self):
        folder = pydicom_folder("dicomdirtests/98892003/MR1")
        with pytest.raises(ImageReadError, match=r"SeriesInstanceUID: holds 3 DICOM series; choose one") as info:
            read_image(folder)
        uid = str(info.value).split("choose one by Series Instance UID: ")[1].split(" ")[0]
        vol = read_image(folder, series_uid=uid)
        assert vol.size[2] == 1 and vol.notes and "single slice" in vol.notes[0]

    def test_truncated_dicom(self, tmp_path):
        with pytest.raises(ImageReadError, match=r"MR_truncated.dcm: PixelData: pixel data cannot be decoded"):
            read_image(pydicom_file("MR_truncated.dcm"))
        single = tmp_path / "one"
        single.mkdir()
        data = pydicom_file("CT_small.dcm").read_bytes()
        (single / "ct.dcm").write_bytes(data[: len(data) - 5000])
        with pytest.raises(ImageReadError, match=r"ct.dcm: PixelData: pixel data cannot be decoded"):
            read_image(single)

    def test_missing_position_names_the_attribute(self, tmp_path):
        _, mask = oblique_phantom()
        image = Volume(mask.array.astype(np.float64), mask.spacing, mask.origin, mask.direction)

        def drop(ds, k):
            if k == 3:
                del ds.ImagePositionPatient

        write_dicom_series(tmp_path / "s", image, header=drop)
        with pytest.raises(ImageReadError, match=r"slice012.dcm: ImagePositionPatient: the DICOM attribute "
                                                 r"ImagePositionPatient is missing"):
            read_image(tmp_path / "s")


class TestDicomSeg:
    def test_pydicom_liver_segmentation(self):
        """dcmqi's liver SEG (one 512 × 512 frame, 0.810547 mm pixels, slice at z = −128.69 mm)."""
        mask = read_mask(pydicom_file("liver_1frame.dcm"))
        assert mask.label_names == {1: "Liver"}
        assert mask.size == (512, 512, 1)
        np.testing.assert_allclose(mask.spacing[:2], (0.810547, 0.810547))
        np.testing.assert_allclose(mask.origin, (-235.2, -226.8, -128.69))
        np.testing.assert_allclose(mask.direction[:, 0], (1, 0, 0))  # columns along +x
        np.testing.assert_allclose(mask.direction[:, 1], (0, 1, 0))  # rows along +y
        assert int((mask.array == 1).sum()) == 36233
        (node,) = measure_nodes(mask, split="labels")
        assert node.label_name == "Liver"
        assert node.axial_area_mm2 == pytest.approx(36233 * 0.810547**2)
        # the liver is much larger than a node: the diameters come out in the decimetre range
        assert 100 < node.short_axis_mm < node.long_axis_mm < 300

    def test_segmentation_placed_on_a_larger_reference(self):
        seg = read_mask(pydicom_file("liver_1frame.dcm"))
        ref = Volume(np.zeros((4, 512, 512), np.float32), (0.810547, 0.810547, 1.0), (-235.2, -226.8, -130.69),
                     np.eye(3))
        placed = read_mask(pydicom_file("liver_1frame.dcm"), ref)
        assert placed.size == ref.size
        assert int(placed.array[2].sum()) == 36233 and int(placed.array.sum()) == 36233
        np.testing.assert_array_equal(placed.array[2], seg.array[0])

    def test_segmentation_off_the_reference_grid(self):
        ref = Volume(np.zeros((4, 512, 512), np.float32), (0.810547, 0.810547, 1.0), (-235.0, -226.8, -130.69),
                     np.eye(3))
        with pytest.raises(GridMismatchError, match=r"liver_1frame.dcm: origin: the segmentation's voxel centres "
                                                    r"lie between the reference image's voxel centres"):
            read_mask(pydicom_file("liver_1frame.dcm"), ref)
        coarse = Volume(np.zeros((4, 256, 256), np.float32), (1.621094, 1.621094, 1.0), (-235.2, -226.8, -130.69),
                        np.eye(3))
        with pytest.raises(GridMismatchError, match=r"spacing/direction: the segmentation's voxels do not fall on"):
            read_mask(pydicom_file("liver_1frame.dcm"), coarse)


class TestRTStruct:
    @staticmethod
    def reference(origin=(-249.5, -199.5, -200.0), size=(500, 400, 3), spacing=(1.0, 1.0, 10.0)):
        ni, nj, nk = size
        return Volume(np.zeros((nk, nj, ni), np.float32), spacing, origin, np.eye(3))

    def test_pydicom_rtstruct_rectangles(self):
        """ROI 'patient': a 400 × 300 mm rectangle on z = −200, −190, −180 mm (the last two with an
        extra collinear vertex). On a grid whose pixel centres sit half a pixel inside the edges the
        filled area is exactly 400 × 300 pixels of 1 mm²."""
        mask = read_mask(pydicom_file("rtstruct.dcm"), self.reference())
        assert mask.label_names == {1: "patient"}  # the two isocentre ROIs are points: no volume
        per_slice = (mask.array == 1).sum(axis=(1, 2))
        assert per_slice.tolist() == [120000, 120000, 120000]
        (node,) = measure_nodes(mask)
        assert node.volume_mm3 == pytest.approx(3 * 120000 * 10.0)
        assert node.centroid_mm == pytest.approx((0.0, 0.0, -190.0))
        # the caliper ends are fitted to a smooth outline, so the corners are rounded: the long axis
        # lies between the diagonal of the voxel-centre rectangle (399 × 299 mm) and the true one
        # (400 × 300 mm), within half a pixel per end of the face-midpoint hull's 2·hypot(200, 149.5)
        assert 2 * math.hypot(199.5, 149.5) <= node.long_axis_mm <= 2 * math.hypot(200.0, 150.0)
        assert abs(node.long_axis_mm - 2 * math.hypot(200.0, 149.5)) <= 1.4

    def test_pixel_centres_on_the_contour(self):
        """Centres exactly on the edges (x = ±200, y = ±150): the half-open rule keeps one edge of each pair."""
        mask = read_mask(pydicom_file("rtstruct.dcm"), self.reference(origin=(-250.0, -200.0, -200.0)))
        assert (mask.array[0] == 1).sum() == 400 * 300  # 401 × 301 centres touch the rectangle; 400 × 300 kept

    def test_point_roi_and_unknown_roi(self):
        ref = self.reference()
        with pytest.raises(EmptyMaskError, match=r"ContourGeometricType: ROI 'Isocenter 1' has no closed planar "
                                                 r"contour \(POINT\)"):
            read_mask(pydicom_file("rtstruct.dcm"), ref, roi="Isocenter 1")
        with pytest.raises(QuantitativeError, match=r"ROIName: has no ROI named 'IMN' \(ROIs: patient, Isocenter 1"):
            read_mask(pydicom_file("rtstruct.dcm"), ref, roi="IMN")

    def test_contours_between_slices_or_outside(self):
        with pytest.raises(GridMismatchError, match=r"does not lie in a slice plane of the image"):
            read_mask(pydicom_file("rtstruct.dcm"), self.reference(origin=(-249.5, -199.5, -195.0)))
        with pytest.raises(GridMismatchError, match=r"lies outside the image"):
            read_mask(pydicom_file("rtstruct.dcm"), self.reference(size=(500, 400, 2)))

    def test_on_a_dicom_series_with_its_frame_of_reference(self, tmp_path):
        """End to end: the pydicom RTSTRUCT over a CT series written on its frame of reference."""
        from imln.quantitative import measure_case

        ref = self.reference()
        ct = Volume(np.full(ref.array.shape, 1000.0), ref.spacing, ref.origin, ref.direction)
        rs_for = "1.2.826.0.1.3680043.8.498.2010020400001.2"

        def same_frame(ds, k):
            ds.FrameOfReferenceUID = rs_for

        write_dicom_series(tmp_path / "ct", ct, modality="CT", header=same_frame)
        write_dicom_series(tmp_path / "other", ct, modality="CT")
        image = read_image(tmp_path / "ct")
        mask = read_mask(pydicom_file("rtstruct.dcm"), image, roi="patient")
        assert (mask.array == 1).sum() == 3 * 120000
        with pytest.raises(GridMismatchError, match=r"ReferencedFrameOfReferenceUID: ROI 'patient' refers to Frame "
                                                    r"of Reference 1.2.826.0.1.3680043.8.498.2010020400001.2 but the "
                                                    r"image .*other is in"):
            read_mask(pydicom_file("rtstruct.dcm"), read_image(tmp_path / "other"))
        # a whole-body contour is no internal mammary node: the finding refuses it, saying why. On a
        # 400 × 300 mm rectangle the long axis is the diagonal and the longest chord perpendicular
        # to it runs between the long sides: 300 / cos(36.87°) = 375 mm (374.7 as fitted).
        with pytest.raises(QuantitativeError, match=r"rtstruct.dcm: finding: the measurements do not fit imln's "
                                                    r"imaging finding: short_axis_mm: Input should be less than or "
                                                    r"equal to 100 \(got 374.7\); long_axis_mm: Input should be less "
                                                    r"than or equal to 100 \(got 499.4\)"):
            measure_case(tmp_path / "ct", pydicom_file("rtstruct.dcm"), modality="ct")

    def test_needs_a_reference(self):
        with pytest.raises(QuantitativeError, match=r"reference image: an RTSTRUCT holds contours"):
            read_mask(pydicom_file("rtstruct.dcm"))

    def test_rtstruct_is_not_an_image(self, tmp_path):
        copy = tmp_path / "rs.dcm"
        shutil.copy(pydicom_file("rtstruct.dcm"), copy)
        with pytest.raises(ImageReadError, match=r"is a RTSTRUCT object \(a mask\), not an image"):
            read_image(copy)


def test_gzip_helper_sanity(tmp_path):
    """A .nii.gz that is gzip but not NIfTI is reported, not crashed on."""
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(gzip.compress(b"not a nifti header" * 20))
    with pytest.raises(ImageReadError, match=r"bad.nii.gz: cannot be read"):
        read_image(bad)
