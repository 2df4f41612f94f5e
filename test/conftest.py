"""Shared fixtures: the tiny detector trained here (see test/models.py)."""

from __future__ import annotations

import pytest

from models import TinyModels, build_models, cached_models


@pytest.fixture(scope="session")
def tiny_models() -> TinyModels:
    """The tiny models, built on first use where Ultralytics is installed."""
    cached = cached_models()
    if cached is not None:
        return cached
    pytest.importorskip(
        "ultralytics", reason="no cached tiny models and no Ultralytics to train them"
    )
    return build_models()
