"""Uvicorn's access log without query strings: /when and /api/v1/advice carry a patient's history in them."""

from __future__ import annotations

import copy
import logging
from typing import Any

import uvicorn.config


class WithoutQueryStrings(logging.Filter):
    """Uvicorn logs `client - "METHOD path?query HTTP/1.1" status`; the path is its third argument."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].partition("?")[0], *args[3:])
        return True


def log_config() -> dict[str, Any]:
    """Uvicorn's own logging configuration with the filter on its access log, and safewindow's log beside it."""
    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["without_query_strings"] = {"()": f"{__name__}.WithoutQueryStrings"}
    config["handlers"]["access"].setdefault("filters", []).append("without_query_strings")
    config["loggers"]["safewindow"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
