"""Application factory for uvicorn (``imln.api._serve:make_app``), settings from the environment."""

from __future__ import annotations

import logging
import os
import sys

from fastapi import FastAPI

from imln.api._app import create_app
from imln.api._settings import Settings

#: Level of the ``imln`` loggers in this process; ``imln serve --log-level`` sets it for its workers.
LOG_LEVEL_ENV = "IMLN_LOG_LEVEL"
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "TRACE")


def set_log_level(level: str) -> None:
    """Set the ``imln`` loggers to one of uvicorn's log levels (``trace``: everything, as DEBUG)."""
    level = level.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"{LOG_LEVEL_ENV} must be one of {', '.join(LOG_LEVELS)}; got {level!r}")
    logger = logging.getLogger("imln")
    logger.setLevel("DEBUG" if level == "TRACE" else level)
    if not logger.handlers and not logging.getLogger().handlers:
        # uvicorn configures only its own loggers: without a handler the imln records (the debug access
        # log, storage errors) would reach only logging's last resort, which drops everything below WARNING.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)


def make_app() -> FastAPI:
    level = os.environ.get(LOG_LEVEL_ENV, "")
    if level.strip():
        set_log_level(level)
    return create_app(Settings())
