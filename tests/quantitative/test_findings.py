"""Measurements → imln's ImagingFinding: what is copied, what is left out, and clear refusals."""

from __future__ import annotations

import pytest

from imln.quantitative import ModalityError, QuantitativeError, to_finding
from imln.quantitative._measure import NodeMeasurement, SUVStatistics
from imln.schema import ImagingFinding, load_patient


def node(node_id: int, short: float, long: float, *, space: int | None = None, suv: float | None = None,
         note: str | None = None) -> NodeMeasurement:
    zero3 = (0.0, 0.0, 0.0)
    return NodeMeasurement(
        node_id=node_id, label=1, label_name=None, voxel_count=10, volume_mm3=50.0, centroid_mm=zero3,
        short_axis_mm=short, long_axis_mm=long, axial_slice_index=0, axial_area_mm2=20.0,
        long_axis_endpoints_mm=(zero3, zero3), short_axis_endpoints_mm=(zero3, zero3),
        axial_ellipse_major_mm=long, axial_ellipse_minor_mm=short, max_3d_diameter_mm=long,
        principal_axes_mm=(long, short, short), principal_directions=((1, 0, 0), (0, 1, 0), (0, 0, 1)),
        principal_axes_centres_lambda=(1.0, 1.0, 1.0), measurement_plane_obliquity_deg=0.0,
        intercostal_space=space, intercostal_note=note,
        suv=None if suv is None else SUVStatistics(suv, suv / 2, suv * 0.8, suv * 0.8),
    )


class TestToFinding:
    def test_largest_short_axis_wins(self):
        finding, notes = to_finding([node(1, 4.04, 9.96, space=2), node(2, 6.26, 7.01, space=3)], "mri")
        assert isinstance(finding, ImagingFinding)
        assert finding.model_dump(exclude_none=True) == {
            "modality": "mri", "short_axis_mm": 6.3, "long_axis_mm": 7.0, "node_count": 2, "intercostal_space": 3,
        }
        assert notes == []

    def test_pet_takes_the_hottest_node(self):
        finding, _ = to_finding([node(1, 8.0, 9.0, suv=2.5), node(2, 5.0, 6.0, suv=4.567)], "pet_ct")
        assert finding.suv_max == 4.57 and finding.short_axis_mm == 8.0

    def test_pet_without_suv_is_refused(self):
        with pytest.raises(QuantitativeError, match="modality pet_ct needs SUV for every node"):
            to_finding([node(1, 5.0, 6.0)], "pet_ct")

    def test_space_outside_the_schema_is_left_out_with_a_note(self):
        finding, notes = to_finding([node(1, 5.0, 6.0, space=7)], "ct")
        assert finding.intercostal_space is None
        assert notes == ["node 1 lies in intercostal space 7, outside the finding's range 1–6; left out"]
        finding, notes = to_finding([node(1, 5.0, 6.0, note="centroid z = 130.0 mm is above the first rib")], "ct")
        assert notes == ["node 1: no intercostal space (centroid z = 130.0 mm is above the first rib)"]

    def test_no_result_is_ever_set(self):
        finding, _ = to_finding([node(1, 12.0, 15.0)], "ct")
        assert finding.result is None  # the call is the criteria engine's

    def test_a_mask_too_large_for_a_node(self):
        with pytest.raises(QuantitativeError, match=r"finding: the measurements do not fit imln's imaging finding: "
                                                    r"short_axis_mm: Input should be less than or equal to 100"):
            to_finding([node(1, 300.0, 499.4)], "ct", source="rtstruct.dcm")

    def test_modalities(self):
        assert to_finding([node(1, 5.0, 6.0)], "Ultrasound")[0].modality.value == "us"
        assert to_finding([node(1, 5.0, 6.0, suv=3.0)], "PET/CT")[0].modality.value == "pet_ct"
        with pytest.raises(ModalityError, match=r"modality: unknown modality 'xray'; one of: us, ct, mri"):
            to_finding([node(1, 5.0, 6.0)], "xray")
        with pytest.raises(ModalityError, match="planar lymphoscintigraphy findings carry no node size"):
            to_finding([node(1, 5.0, 6.0)], "lymphoscintigraphy")

    def test_side_and_date_are_validated_by_the_schema(self):
        finding, _ = to_finding([node(1, 5.0, 6.0)], "mri", side="ipsilateral", date="2024-03-05")
        assert finding.side.value == "ipsilateral" and str(finding.date) == "2024-03-05"
        with pytest.raises(QuantitativeError, match=r"side: Input should be 'ipsilateral' or 'contralateral'"):
            to_finding([node(1, 5.0, 6.0)], "mri", side="left")

    def test_the_finding_goes_into_a_patient(self):
        finding, _ = to_finding([node(1, 5.5, 7.26), node(2, 3.0, 4.0)], "mri")
        patient = load_patient({"age_years": 52, "laterality": "left", "setting": "diagnosis",
                                "findings": [finding.model_dump(mode="json", exclude_none=True)]})
        assert patient.findings[0].short_axis_mm == 5.5
        assert patient.findings[0].node_count == 2
        assert patient.findings[0].long_axis_mm == 7.3
