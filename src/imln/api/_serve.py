"""Application factory for uvicorn (``imln.api._serve:make_app``), settings from the environment."""

from __future__ import annotations

from fastapi import FastAPI

from imln.api._app import create_app
from imln.api._settings import Settings


def make_app() -> FastAPI:
    return create_app(Settings())
