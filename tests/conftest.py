"""Shared fixtures: the bundled samples and throwaway vaults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from healthlocker.connectors import import_paths
from healthlocker.store import Vault
from helpers import PASSPHRASE, SAMPLES

# The machine is 2 noisy cores: no per-example deadline, no "too slow" health check.
settings.register_profile(
    "healthlocker", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("healthlocker")


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "vault"
    monkeypatch.setenv("HEALTHLOCKER_HOME", str(folder))
    monkeypatch.setenv("HEALTHLOCKER_PASSPHRASE", PASSPHRASE)
    return folder


@pytest.fixture
def vault(home: Path) -> Iterator[Vault]:
    with Vault.create(home, passphrase=PASSPHRASE) as v:
        yield v


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An OS keyring kept in a file under *tmp_path* (the home folder, too); no passphrase in
    the environment. Returns *tmp_path*."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("HEALTHLOCKER_PASSPHRASE", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def loaded_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    """A vault holding every bundled sample; read-only for the tests that use it."""
    folder = tmp_path_factory.mktemp("loaded")
    with Vault.create(folder, passphrase=PASSPHRASE) as v:
        report = import_paths(v, [SAMPLES / "synthea", SAMPLES / "bluebutton"])
        assert report.ok, [f.error for f in report.files if f.error]
        yield v


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
