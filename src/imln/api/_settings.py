"""Settings of the HTTP service: environment variables ``IMLN_*`` or a TOML config file.

Precedence: arguments > environment > config file > defaults. The config file is
``$IMLN_CONFIG_FILE`` or ``config.toml`` in the user's config folder, e.g.::

    database_url = "postgresql+psycopg://imln@db.example/imln"
    api_token = "…"          # protects stored assessments
    open_compute = true       # POST /api/v1/compute and the web form without token
    open_web_storage = false  # with open compute: store web-form assessments made without the token
    secret_key = "…"          # signs the web form's CSRF tokens (shared by all workers)
    fhir_identifier_system = "urn:oid:…"  # namespace of patient labels in FHIR exports

Writes need the token: ``POST /api/v1/assessments`` always, and the web form stores an
assessment only when the token was given with it, unless the operator turns
``open_web_storage`` on (then anyone who can reach an open form can write to the store).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from imln.schema import MAX_INPUT_BYTES

__all__ = ["Settings", "config_file_path", "settings_problems"]


def config_file_path() -> Path:
    """``$IMLN_CONFIG_FILE``, else ``config.toml`` in the user's config folder."""
    env = os.environ.get("IMLN_CONFIG_FILE")
    if env:
        return Path(env)
    from platformdirs import user_config_dir

    return Path(user_config_dir("imln", appauthor=False)) / "config.toml"


def settings_problems(exc: ValidationError) -> str:
    """A settings error in one line, each problem naming its setting: 'fhir_identifier_system: …; …'."""
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


class Settings(BaseSettings):
    """Everything the service can be configured with."""

    model_config = SettingsConfigDict(env_prefix="IMLN_", extra="ignore", frozen=True)

    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file in the user's data folder (WAL mode)."
    )
    api_token: SecretStr | None = Field(
        None, description="Bearer token for stored assessments (and for compute unless open_compute)."
    )
    open_compute: bool = Field(
        False, description="Allow POST /api/v1/compute, reports, FHIR and the web form without the token."
    )
    store_web_assessments: bool = Field(
        True, description="Store assessments made through the web form when the form was sent with the API token."
    )
    open_web_storage: bool = Field(
        False,
        description="With open compute, also store web-form assessments sent WITHOUT the token (opt-in: anyone "
        "who can reach the page can then write to the store).",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key for the web form's signed CSRF tokens and stored-assessment links (HMAC-SHA256). Default: "
        "derived from api_token; without either, random per process (open forms expire on restart).",
    )
    csrf_max_age_seconds: int = Field(8 * 3600, ge=60, le=7 * 24 * 3600,
                                      description="How long a web form stays valid after it was loaded.")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) besides the service's own Host that may POST the web form, "
        "e.g. the public address behind a reverse proxy that rewrites Host.",
    )
    max_request_bytes: int = Field(MAX_INPUT_BYTES, gt=0, description="Largest request body accepted.")
    max_page_size: int = Field(100, gt=0, le=1000)
    storage: bool = Field(True, description="Open the assessment store (off: compute-only service).")
    pdf_workers: int = Field(1, ge=1, le=32, description="PDF reports rendered at once (each in its own process).")
    pdf_queue: int = Field(2, ge=0, le=1000, description="PDF requests that may wait for a renderer; more get 503 "
                           "with Retry-After.")
    pdf_timeout_seconds: float = Field(600, gt=0, description="A PDF render running longer is stopped (504).")
    fhir_identifier_system: str | None = Field(
        None,
        description="Namespace (an absolute URI, e.g. urn:oid:… or https://hospital.example/pseudonyms) of the "
        "pseudonymous patient labels in FHIR exports: with it the subject is an identifier {system, value}; without "
        "it the label is only in subject.display (an identifier without a system is unique in no namespace).")

    @field_validator("fhir_identifier_system")
    @classmethod
    def _absolute_uri(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from imln.fhir._export import check_identifier_system

        return check_identifier_system(value)

    rate_limit_per_minute: int = Field(
        120, ge=0, description="Requests per minute per client address to the open (token-less) compute endpoints "
        "and web form posts; 0 = no limit. Requests with the bearer token are not limited.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_file_path()
        sources: list[Any] = [init_settings, env_settings]
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        from imln.storage import default_database_url

        return default_database_url()

    def token(self) -> str | None:
        return self.api_token.get_secret_value() if self.api_token else None
