"""One exception family for every problem with images, masks, headers and batch inputs.

Every message names the file and, where there is one, the field (a DICOM attribute, a
grid property, a manifest column), so a user can fix the input without a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "EmptyMaskError",
    "GridMismatchError",
    "ImageReadError",
    "MissingDependencyError",
    "ModalityError",
    "QuantitativeError",
    "SUVError",
]


class QuantitativeError(ValueError):
    """A problem with quantitative-imaging input that the user can fix.

    ``source`` is the file (or case) concerned, ``field`` the attribute or property at
    fault (``None`` when the whole file is at fault), ``message`` the explanation.
    ``str(error)`` reads ``"<source>: <field>: <message>"``.
    """

    def __init__(self, message: str, *, source: str | Path | None = None, field: str | None = None) -> None:
        self.message = message
        self.source = None if source is None else str(source)
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.source, self.field) if p]
        return ": ".join([*parts, self.message])

    def __reduce__(self) -> tuple[Any, ...]:  # keep the fields across process boundaries
        return (_rebuild, (type(self), self.message, self.source, self.field))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"error": <kind>, "source", "field", "message"}``."""
        return {
            "error": _KIND.get(type(self), "quantitative"),
            "source": self.source,
            "field": self.field,
            "message": self.message,
        }


def _rebuild(cls: type[QuantitativeError], message: str, source: str | None, field: str | None) -> QuantitativeError:
    return cls(message, source=source, field=field)


class ImageReadError(QuantitativeError):
    """A file that cannot be read: missing, corrupt, truncated, or of an unsupported kind."""


class GridMismatchError(QuantitativeError):
    """Image and mask (or segmentation and reference) do not share a voxel grid."""


class EmptyMaskError(QuantitativeError):
    """A mask (or the selected label) has no foreground voxel."""


class SUVError(QuantitativeError):
    """SUV cannot be computed: a PET header is missing or inconsistent."""


class ModalityError(QuantitativeError):
    """The requested modality does not fit the image or the measurement."""


class MissingDependencyError(QuantitativeError):
    """An optional package (pyradiomics, dask.distributed) is needed but not installed."""


_KIND: dict[type[QuantitativeError], str] = {
    QuantitativeError: "quantitative",
    ImageReadError: "image_read",
    GridMismatchError: "grid_mismatch",
    EmptyMaskError: "empty_mask",
    SUVError: "suv",
    ModalityError: "modality",
    MissingDependencyError: "missing_dependency",
}
