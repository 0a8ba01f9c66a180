"""Radiomic features through pyradiomics (optional extra), with the settings saved beside the results.

pyradiomics publishes no wheels for Python 3.11 and its source build needs numpy at
build time, so it is installed in two steps (tested with 3.0.1)::

    pip install numpy setuptools wheel versioneer
    pip install --no-build-isolation pyradiomics==3.0.1

No feature setting is chosen here: without ``params`` pyradiomics' own defaults apply,
and the *effective* settings, image types, feature classes and library versions are
recorded with every result (:func:`radiomics_provenance`, :func:`save_radiomics_settings`),
so a run can be repeated exactly. The one override is ``additionalInfo: false``: imln
keeps features only, and pyradiomics' diagnostics (hashes, image statistics) cost time
without changing any feature.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imln.quantitative._errors import (
    EmptyMaskError,
    MissingDependencyError,
    QuantitativeError,
)
from imln.quantitative._io import Mask, Volume, _require, read_image, read_mask

__all__ = [
    "INSTALL_HINT",
    "RadiomicsResult",
    "extract_radiomics",
    "load_radiomics_params",
    "radiomics_available",
    "radiomics_provenance",
    "save_radiomics_settings",
]

INSTALL_HINT = (
    "pip install numpy setuptools wheel versioneer && pip install --no-build-isolation pyradiomics==3.0.1"
)


def radiomics_available() -> bool:
    """Whether pyradiomics can be imported."""
    try:
        import radiomics  # noqa: F401
    except ImportError:
        return False
    return True


def _radiomics() -> Any:
    try:
        import radiomics
        from radiomics import featureextractor  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            f"radiomic features need pyradiomics, which is not installed; install it with: {INSTALL_HINT}",
            field="pyradiomics",
        ) from None
    radiomics.setVerbosity(logging.ERROR)
    return radiomics


@dataclass(frozen=True)
class RadiomicsResult:
    """Feature values (``<imageType>_<class>_<Feature>`` → float) and the provenance of the run."""

    features: dict[str, float]
    provenance: dict[str, Any]


def load_radiomics_params(params: Mapping[str, Any] | str | Path | None) -> dict[str, Any] | None:
    """A parameter mapping from a mapping, a pyradiomics YAML/JSON parameter file, or ``None`` (defaults)."""
    if params is None:
        return None
    if isinstance(params, Mapping):
        return dict(params)
    p = Path(params)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise QuantitativeError(f"cannot read the radiomics parameter file: {exc.strerror}", source=p) from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except ValueError as exc:
        raise QuantitativeError(f"the radiomics parameter file cannot be parsed: {exc}", source=p) from None
    except Exception as exc:  # yaml.YAMLError
        raise QuantitativeError(f"the radiomics parameter file cannot be parsed: {exc}", source=p) from None
    if not isinstance(data, Mapping):
        raise QuantitativeError("a radiomics parameter file must hold a mapping (imageType, featureClass, setting)",
                                source=p)
    return dict(data)


def _extractor(params: Mapping[str, Any] | None, feature_classes: Sequence[str] | None) -> Any:
    _radiomics()
    from radiomics import featureextractor

    try:
        ext = (
            featureextractor.RadiomicsFeatureExtractor(dict(params))
            if params is not None
            else featureextractor.RadiomicsFeatureExtractor()
        )
    except Exception as exc:
        raise QuantitativeError(f"pyradiomics refused the parameters: {exc}", field="radiomics parameters") from None
    # diagnostics (hashes, image statistics) are discarded by imln; computing them only costs time
    ext.settings["additionalInfo"] = False
    if feature_classes is not None:
        unknown = [c for c in feature_classes if c not in ext.featureClassNames]
        if unknown:
            raise QuantitativeError(
                f"unknown feature class{'es' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                f"(pyradiomics has: {', '.join(ext.featureClassNames)})",
                field="feature_classes",
            )
        ext.disableAllFeatures()
        for c in feature_classes:
            ext.enableFeatureClassByName(c)
    return ext


def radiomics_provenance(params: Mapping[str, Any] | None = None,
                         feature_classes: Sequence[str] | None = None) -> dict[str, Any]:
    """The effective pyradiomics configuration and the versions of the libraries that compute it."""
    radiomics = _radiomics()
    sitk = _require("SimpleITK")
    ext = _extractor(params, feature_classes)
    try:
        import pywt

        pywt_version = pywt.__version__
    except ImportError:  # pragma: no cover - pyradiomics depends on PyWavelets
        pywt_version = None
    return {
        "pyradiomics": str(radiomics.__version__),
        "numpy": np.__version__,
        "SimpleITK": sitk.Version.VersionString(),
        "PyWavelets": pywt_version,
        "parameters_given": None if params is None else _plain(dict(params)),
        "setting": _plain(dict(ext.settings)),
        "imageType": _plain(dict(ext.enabledImagetypes)),
        "featureClass": _plain(dict(ext.enabledFeatures)),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def save_radiomics_settings(path: str | Path, provenance: Mapping[str, Any]) -> Path:
    """Write ``provenance`` (from :func:`radiomics_provenance`) as YAML at ``path``; returns the path."""
    import yaml

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# pyradiomics settings and versions used for the features beside this file (written by imln)\n"
        + yaml.safe_dump(_plain(dict(provenance)), sort_keys=True, allow_unicode=True)
    )
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(p)
    return p


def extract_radiomics(
    image: Volume | str | Path,
    mask: Mask | str | Path,
    *,
    params: Mapping[str, Any] | str | Path | None = None,
    label: int = 1,
    feature_classes: Sequence[str] | None = None,
) -> RadiomicsResult:
    """pyradiomics features of ``label`` in ``mask`` over ``image`` (diagnostic entries left out).

    ``params``: a pyradiomics parameter mapping or file (``imageType``, ``featureClass``,
    ``setting``); ``None`` = pyradiomics' defaults. ``feature_classes`` restricts the
    classes (e.g. ``["firstorder", "shape"]``). The label given here overrides a
    ``label`` setting in ``params``.
    """
    mapping = load_radiomics_params(params)
    ext = _extractor(mapping, feature_classes)
    sitk = _require("SimpleITK")
    img = image if isinstance(image, Volume) else read_image(image)
    msk = mask if isinstance(mask, Mask) else read_mask(mask, img)
    if not np.any(msk.array == label):
        raise EmptyMaskError(f"label {label} has no voxel (labels present: {msk.labels or 'none'})",
                             source=msk.source, field="label")
    sitk_image = img.to_sitk()
    sitk_mask = sitk.Cast(msk.to_sitk(), sitk.sitkUInt32)
    ext.settings["label"] = int(label)
    try:
        raw = ext.execute(sitk_image, sitk_mask, label=int(label))
    except Exception as exc:
        raise QuantitativeError(f"pyradiomics failed on label {label}: {exc}", source=msk.source,
                                field="radiomics") from None
    features: dict[str, float] = {}
    for key, value in raw.items():
        if key.startswith("diagnostics_"):
            continue
        try:
            features[key] = float(np.asarray(value))
        except (TypeError, ValueError):
            continue
    provenance = radiomics_provenance(mapping, feature_classes)
    provenance["label"] = int(label)
    return RadiomicsResult(features, provenance)
