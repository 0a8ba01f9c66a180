"""SUV from DICOM PET headers, on a PET phantom of known activity written with pydicom.

The phantom: 2 mm voxels, background 2 000 Bq/mL, a 10 mm-radius sphere of 20 000 Bq/mL
(the node, also the mask) with one voxel of 30 000 Bq/mL near its centre; slices stored
with alternating Rescale Slope 0.5 and 1.0. Headers: 70 kg, 370 MBq injected at 10:00:00,
half-life 6586.2 s, series at 11:00:00, DecayCorrection START, Units BQML.

Hand computation (Python)::

    >>> decayed = 3.7e8 * 2 ** (-3600 / 6586.2)     # 253 314 180.2 Bq
    >>> 20000 * 70000 / decayed                     # SUV of the sphere
    5.526733634352865
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("SimpleITK", reason="the 'quantitative' extra is not installed (SimpleITK)")
pytest.importorskip("pydicom", reason="the 'quantitative' extra is not installed (pydicom)")

from imln.quantitative import (
    ModalityError,
    SUVError,
    Volume,
    measure_case,
    read_image,
    suv_factor,
)

from .phantoms import (
    Ellipsoid,
    ellipsoid_mask,
    pet_header,
    write_dicom_series,
    write_image,
)

SPACING = (2.0, 2.0, 2.0)
SIZE = (24, 24, 20)
SPHERE = Ellipsoid((20.0, 20.0, 20.0), np.eye(3), (0.0, 0.0, 0.0))
SUV_SPHERE = 5.526733634352865  # from the docstring
PEAK_RADIUS = (3 * 1000 / (4 * math.pi)) ** (1 / 3)  # 1 cm³ sphere: 6.2035 mm


def phantom(activity=None):
    mask = ellipsoid_mask([SPHERE], SPACING, np.eye(3), SIZE)
    act = np.where(mask.array > 0, 20000.0, 2000.0) if activity is None else activity(mask)
    if activity is None:
        centre = np.argwhere(mask.array > 0).mean(axis=0).round().astype(int)
        act[tuple(centre)] = 30000.0
    return mask, Volume(act, mask.spacing, mask.origin, mask.direction)


def write_pet(tmp_path, activity=None, **header):
    mask, pet = phantom(activity)
    write_dicom_series(tmp_path / "pet", pet, modality="PT", slopes=[0.5, 1.0], header=pet_header(**header))
    write_image(tmp_path / "mask.nii.gz", mask)
    return mask, pet


def kernel_count() -> int:
    """Voxels of a 2 mm grid whose centres lie within the 1 cm³ sphere, counted independently."""
    r = range(-4, 5)
    return sum(1 for i in r for j in r for k in r if math.dist((0, 0, 0), (2 * i, 2 * j, 2 * k)) <= PEAK_RADIUS)


class TestPhantom:
    def test_suv_factor(self, tmp_path):
        write_pet(tmp_path)
        f = suv_factor(list(read_image(tmp_path / "pet").dicom))
        assert f.factor == pytest.approx(SUV_SPHERE / 20000, rel=1e-12)
        assert f.decay_time_s == 3600
        assert f.decayed_dose_bq == pytest.approx(253314180.24164078)
        assert (f.units, f.decay_correction, f.patient_weight_kg) == ("BQML", "START", 70.0)

    def test_node_suv_statistics(self, tmp_path):
        mask, _ = write_pet(tmp_path)
        case = measure_case(tmp_path / "pet", tmp_path / "mask.nii.gz", modality="pet_ct")
        (node,) = case.nodes
        n_node = int(mask.array.sum())
        n_peak = kernel_count()
        assert n_peak == 123  # 1 cm³ on a 2 mm grid: 123 voxel centres within 6.2035 mm
        f = SUV_SPHERE / 20000
        assert node.suv.suv_max == pytest.approx(30000 * f, rel=1e-9)
        assert node.suv.suv_mean == pytest.approx((20000 * (n_node - 1) + 30000) / n_node * f, rel=1e-9)
        # the hot voxel lies within 3.8 mm of the centre, so the whole sphere around it is 20 000 + the hot voxel
        assert node.suv.suv_peak == pytest.approx((20000 * (n_peak - 1) + 30000) / n_peak * f, rel=1e-9)
        assert node.suv.suv_peak_local == pytest.approx(node.suv.suv_peak, rel=1e-12)
        assert case.finding.suv_max == round(30000 * f, 2) == 8.29
        assert case.suv is not None and case.suv.decay_time_s == 3600

    def test_peak_against_brute_force_on_a_gradient(self, tmp_path):
        """Activity rising along x inside the node: the global peak is off the hottest voxel."""

        def gradient(mask):
            i = np.indices(mask.array.shape)[2]
            return np.where(mask.array > 0, 10000.0 + 400.0 * i, 1000.0 + 0.0 * i)

        mask, pet = write_pet(tmp_path, activity=gradient)
        case = measure_case(tmp_path / "pet", tmp_path / "mask.nii.gz", modality="pet_mri")
        (node,) = case.nodes
        f = SUV_SPHERE / 20000
        act = pet.array
        offsets = [(i, j, k) for i in range(-4, 5) for j in range(-4, 5) for k in range(-4, 5)
                   if math.dist((0, 0, 0), (2 * i, 2 * j, 2 * k)) <= PEAK_RADIUS]
        best = 0.0
        for kk, jj, ii in np.argwhere(mask.array > 0):
            vals = [act[kk + c, jj + b, ii + a] for a, b, c in offsets
                    if 0 <= kk + c < act.shape[0] and 0 <= jj + b < act.shape[1] and 0 <= ii + a < act.shape[2]]
            best = max(best, float(np.mean(vals)))
        assert node.suv.suv_peak == pytest.approx(best * f, rel=1e-9)
        assert node.suv.suv_max == pytest.approx(act[mask.array > 0].max() * f, rel=1e-9)
        assert node.suv.suv_peak_local < node.suv.suv_peak  # the sphere on the hottest (edge) voxel reaches out


class TestTimes:
    def _factor(self, tmp_path, **header):
        write_pet(tmp_path, **header)
        return suv_factor(list(read_image(tmp_path / "pet").dicom), source="pet")

    def test_admin_decay_correction_does_not_decay(self, tmp_path):
        f = self._factor(tmp_path, decay_correction="ADMIN")
        assert f.factor == pytest.approx(70000 / 3.7e8)
        assert f.decay_time_s == 0

    def test_start_datetime_wins_and_crosses_days(self, tmp_path):
        f = self._factor(tmp_path, injection=None, injection_datetime="20240304233000", series_time="003000")
        assert f.decay_time_s == 3600 and f.factor == pytest.approx(SUV_SPHERE / 20000)

    def test_midnight_without_a_date(self, tmp_path):
        f = self._factor(tmp_path, injection="233000", series_time="003000")
        assert f.decay_time_s == 3600
        assert any("crossed midnight" in n for n in f.notes)

    def test_series_after_acquisition_needs_the_ge_scan_time(self, tmp_path):
        with pytest.raises(SUVError, match=r"pet: SeriesTime: SeriesTime \(0008,0031\) 11:00:00 is after the "
                                           r"earliest AcquisitionTime \(0008,0032\) 10:50:00"):
            self._factor(tmp_path, acquisition_times=["105000", "105500"])

    def test_units(self, tmp_path):
        assert self._factor(tmp_path / "a", units="GML").factor == 1.0
        with pytest.raises(SUVError, match=r"Units: Units \(0054,1001\) is CNTS and the Philips SUV scale factor "
                                           r"\(7053,1000\) is absent"):
            self._factor(tmp_path / "b", units="CNTS")
        with pytest.raises(SUVError, match=r"Units: Units \(0054,1001\) is 'PROPCPS'"):
            self._factor(tmp_path / "c", units="PROPCPS")


class TestMissingHeaders:
    @pytest.mark.parametrize(
        ("change", "field", "text"),
        [
            ({"weight_kg": None}, "PatientWeight", r"the PET header PatientWeight \(0010,1030\) is missing or empty"),
            ({"dose_bq": None}, "RadionuclideTotalDose", r"RadionuclideTotalDose \(0018,1074\) is missing"),
            ({"half_life_s": None}, "RadionuclideHalfLife", r"RadionuclideHalfLife \(0018,1075\) is missing"),
            ({"injection": None}, "RadiopharmaceuticalStartTime",
             r"neither RadiopharmaceuticalStartDateTime \(0018,1078\) nor RadiopharmaceuticalStartTime"),
            ({"decay_correction": "NONE"}, "DecayCorrection", r"DecayCorrection \(0054,1102\) is 'NONE'"),
            ({"corrected": ("ATTN",)}, "CorrectedImage", r"CorrectedImage \(0028,0051\) is \['ATTN'\] and lacks DECY"),
            ({"weight_kg": 0.0}, "PatientWeight", r"PatientWeight \(0010,1030\) must be positive \(got 0\)"),
        ],
    )
    def test_named(self, tmp_path, change, field, text):
        write_pet(tmp_path, **change)
        with pytest.raises(SUVError, match=text) as info:
            measure_case(tmp_path / "pet", tmp_path / "mask.nii.gz", modality="pet_ct")
        assert info.value.field == field
        assert info.value.source == str(tmp_path / "pet")


class TestModality:
    def test_pet_modality_on_an_mr_series(self, tmp_path):
        mask, pet = phantom()
        write_dicom_series(tmp_path / "mr", pet, modality="MR", slopes=[0.5, 1.0])
        write_image(tmp_path / "mask.nii.gz", mask)
        with pytest.raises(ModalityError, match=r"Modality: modality pet_ct needs the PET image for SUV, but this "
                                                r"DICOM series is Modality 'MR'"):
            measure_case(tmp_path / "mr", tmp_path / "mask.nii.gz", modality="pet_ct")

    def test_mri_modality_on_a_pet_series(self, tmp_path):
        write_pet(tmp_path)
        with pytest.raises(ModalityError, match=r"the image is a PET series \(DICOM Modality 'PT'\) but the "
                                                r"modality given is 'mri'"):
            measure_case(tmp_path / "pet", tmp_path / "mask.nii.gz", modality="mri")

    def test_nifti_pet_has_no_headers_unless_stated_suv(self, tmp_path):
        mask, pet = phantom()
        write_image(tmp_path / "pet.nii.gz", Volume(pet.array * (SUV_SPHERE / 20000), pet.spacing, pet.origin,
                                                    pet.direction))
        write_image(tmp_path / "mask.nii.gz", mask)
        with pytest.raises(SUVError, match=r"pet.nii.gz: DICOM header: has no DICOM headers"):
            measure_case(tmp_path / "pet.nii.gz", tmp_path / "mask.nii.gz", modality="pet_ct")
        case = measure_case(tmp_path / "pet.nii.gz", tmp_path / "mask.nii.gz", modality="pet_ct", image_is_suv=True)
        assert case.nodes[0].suv.suv_max == pytest.approx(30000 * SUV_SPHERE / 20000, rel=1e-6)
        assert case.suv is None

    def test_suv_factor_refuses_non_pet_headers(self, tmp_path):
        _, pet = phantom()
        write_dicom_series(tmp_path / "ct", Volume(pet.array / 100, pet.spacing, pet.origin, pet.direction),
                           modality="CT")
        with pytest.raises(ModalityError, match=r"SUV needs a PET series \(Modality 'PT'\) but this image's Modality "
                                                r"\(0008,0060\) is 'CT'"):
            suv_factor(list(read_image(tmp_path / "ct").dicom))
