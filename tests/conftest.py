"""Shared fixtures: the real public exports in ../shared/realdata and a config factory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("CHATKPI_REALDATA", ROOT.parent / "shared" / "realdata"))


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The folder of real public exports; tests that need it skip with a message where absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real-data folder {REALDATA} is absent (set CHATKPI_REALDATA to point at it)")
    return REALDATA
