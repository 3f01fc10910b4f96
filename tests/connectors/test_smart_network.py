"""The SMART sync against real sockets on loopback: time limits a trickling or endlessly paging
server cannot stretch, and a connection aimed at the checked address with TLS SNI, ``Host``
and the certificate check still naming the host.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from pathlib import Path

import httpx2
import pytest

from connectors.smart.fake_ehr import PATIENT, nothing_stored, observation, patient, save_link
from connectors.smart.local_fhir import LocalFhir
from healthlocker.connectors import Net, sync_link
from healthlocker.errors import SyncError
from healthlocker.store import Vault

pytestmark = pytest.mark.timeout(60)


def test_a_server_trickling_its_answer_is_cut_off_at_the_request_limit(vault: Vault) -> None:
    """The reported attack: a byte every 0.2 s never trips a read timeout (here 0.5 s), so only
    a limit on the whole answer stops it."""
    net = Net(timeout=httpx2.Timeout(0.5), request_limit=1.0)
    with LocalFhir(observations="trickle") as server:
        save_link(vault, base=server.base)
        started = time.monotonic()
        with pytest.raises(SyncError, match=r"Observation: the server took over 1 s to send one"):
            sync_link(vault, "ehr", net=net)
        took = time.monotonic() - started
    assert 1.0 <= took < 3.0
    nothing_stored(vault)


def test_a_sync_that_pages_for_ever_stops_at_its_deadline(vault: Vault) -> None:
    with LocalFhir(observations="slow") as server:
        save_link(vault, base=server.base)
        started = time.monotonic()
        with pytest.raises(SyncError, match=r"the sync ran past its limit of 2 s.*--deadline"):
            sync_link(vault, "ehr", deadline=2.0)
        took = time.monotonic() - started
    assert 2.0 <= took < 3.5
    nothing_stored(vault)


def test_a_deadline_with_room_to_spare_changes_nothing(vault: Vault) -> None:
    with LocalFhir() as server:
        save_link(vault, base=server.base)
        result = sync_link(vault, "ehr", deadline=30.0)
    assert result.fetched == {"Observation": 1, "Patient": 1}
    assert {r["id"]: r for r in vault.iter_all()} == {PATIENT: patient(), "o0": observation(0)}


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``localhost`` only (no IP address in it)."""
    openssl = shutil.which("openssl")
    assert openssl, "the TLS test needs the openssl command to make its certificate"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    command += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"]
    command += ["-addext", "subjectAltName=DNS:localhost"]
    subprocess.run(command, check=True, capture_output=True)
    return cert, key


def test_the_connection_goes_to_the_resolved_address_with_sni_and_host_intact(
    vault: Vault, certificate: tuple[Path, Path]
) -> None:
    """The server listens on 127.0.0.2 only, where the system's own resolution of localhost
    (127.0.0.1) would never reach it: the sync can only get there by connecting to the address
    our resolver returned. TLS still names localhost (SNI, certificate check) and so does Host."""
    resolved: list[str] = []

    def resolve(host: str) -> list[str]:
        resolved.append(host)
        return ["127.0.0.2"]

    trust = ssl.create_default_context(cafile=str(certificate[0]))
    with LocalFhir(address="127.0.0.2", host="localhost", tls=certificate) as server:
        save_link(vault, base=server.base)
        result = sync_link(vault, "ehr", net=Net(resolve=resolve, verify=trust))
        assert result.fetched == {"Observation": 1, "Patient": 1}
        assert resolved == ["localhost"] * result.stats.requests
        assert set(server.hosts) == {f"localhost:{server.port}"}
        assert server.server_names and set(server.server_names) == {"localhost"}
