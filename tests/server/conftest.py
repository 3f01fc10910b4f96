"""Fixtures for the remote-mode tests that drive a real `serve --http` process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import SAMPLES, run_cli
from server.remote import Server, serving


@pytest.fixture(scope="module")
def synthea_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vault made the way a person makes one: `init`, then `import` of the Synthea samples."""
    folder = tmp_path_factory.mktemp("remote") / "vault"
    assert run_cli("init", home=folder).returncode == 0
    done = run_cli("import", str(SAMPLES / "synthea"), home=folder)
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture(scope="module")
def server(synthea_home: Path) -> Iterator[Server]:
    """A real `serve --http` over that vault, for the tests of one module."""
    with serving(synthea_home) as s:
        yield s
