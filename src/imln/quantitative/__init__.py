"""Quantitative imaging of internal mammary nodes: read images and masks, measure nodes, make findings.

>>> from imln.quantitative import measure_case
>>> case = measure_case("ct/", "nodes.nii.gz", modality="ct")      # doctest: +SKIP
>>> case.finding.short_axis_mm, case.nodes[0].volume_mm3           # doctest: +SKIP

- :func:`read_image`, :func:`read_mask`: NIfTI, NRRD, MetaImage, DICOM series, DICOM-SEG,
  RTSTRUCT into :class:`Volume`/:class:`Mask` (patient LPS millimetres);
- :func:`measure_nodes`: per-node volume, axial short/long axis, 3-D diameters, centroid,
  intercostal space (:class:`RibLevels`) and SUV statistics;
- :func:`suv_factor`/:func:`suv_volume`: body-weight SUV from DICOM PET headers;
- :func:`to_finding`, :func:`measure_case`: measurements as an :class:`imln.schema.ImagingFinding`;
- :func:`extract_radiomics`: pyradiomics features (optional extra), settings saved beside results;
- :func:`discover_cases`, :func:`run_batch`: many cases to tables, in parallel, resumable.

Measurement only: classifying nodes as positive or negative is the criteria engine's job.

Optional dependencies: the ``quantitative`` extra (SimpleITK, pydicom, highdicom,
dask[distributed]); radiomic features also need pyradiomics, which has no wheel for
Python 3.11 and is installed in two steps::

    pip install numpy setuptools wheel versioneer
    pip install --no-build-isolation pyradiomics==3.0.1

Command line: the Typer app ``imln.quantitative._cli.app`` (``measure``, ``batch``,
``radiomics``), also runnable as ``python -m imln.quantitative``.
"""

from imln.quantitative._batch import BatchResult, Case, discover_cases, run_batch
from imln.quantitative._case import CaseMeasurement, measure_case
from imln.quantitative._errors import (
    EmptyMaskError,
    GridMismatchError,
    ImageReadError,
    MissingDependencyError,
    ModalityError,
    QuantitativeError,
    SUVError,
)
from imln.quantitative._findings import to_finding
from imln.quantitative._io import Mask, Volume, read_image, read_mask
from imln.quantitative._measure import (
    NodeMeasurement,
    RibLevels,
    SUVStatistics,
    load_rib_levels,
    measure_nodes,
)
from imln.quantitative._radiomics import (
    RadiomicsResult,
    extract_radiomics,
    radiomics_available,
    save_radiomics_settings,
)
from imln.quantitative._suv import SUVFactor, suv_factor, suv_volume

__all__ = [
    "BatchResult",
    "Case",
    "CaseMeasurement",
    "EmptyMaskError",
    "GridMismatchError",
    "ImageReadError",
    "Mask",
    "MissingDependencyError",
    "ModalityError",
    "NodeMeasurement",
    "QuantitativeError",
    "RadiomicsResult",
    "RibLevels",
    "SUVError",
    "SUVFactor",
    "SUVStatistics",
    "Volume",
    "discover_cases",
    "extract_radiomics",
    "load_rib_levels",
    "measure_case",
    "measure_nodes",
    "radiomics_available",
    "read_image",
    "read_mask",
    "run_batch",
    "save_radiomics_settings",
    "suv_factor",
    "suv_volume",
    "to_finding",
]
