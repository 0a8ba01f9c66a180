"""HTTP API and clinician web page (FastAPI), served by ``imln serve``.

>>> from imln.api import Settings, create_app
>>> app = create_app(Settings(open_compute=True))    # doctest: +SKIP

Routes under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``): ``POST /assessments``
(compute and store; token), ``GET /assessments`` (paged), ``GET /assessments/{id}``,
``POST /assessments/{id}/reproduce``, ``…/{id}/report``, ``…/{id}/fhir``,
``POST /compute`` (open when configured), ``POST /compute/report``, ``POST /compute/fhir``,
``POST /validate``, ``GET /models``, ``GET /evidence``, ``GET /evidence/audit``,
``GET /schema/patient``, ``GET /health``. The web form is at ``/``.
"""

from imln.api._app import ApiError, create_app
from imln.api._settings import Settings, config_file_path

__all__ = ["ApiError", "Settings", "config_file_path", "create_app"]
