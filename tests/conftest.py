"""Fixtures shared by every test module.

Async tests run on anyio's pytest plugin (``@pytest.mark.anyio``) with the asyncio backend,
which is what uvicorn runs the gateway on.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
