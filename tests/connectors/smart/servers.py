"""The live test bench: a real FHIR server (sekmet-fhir) behind a SMART gateway (oauth2-mock-server
plus ``gateway.mjs``), both on 127.0.0.1, started and stopped by the caller.

    with SmartBench.start() as bench:
        bench.load(bundle) ...; bench.start_gateway(patient_id)
        bench.fhir_base            # what a user would give to `healthlocker connect`

Used by tests/connectors/test_smart_live.py, test_smart_uscore.py and bench/bench_sync.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2

from helpers import NODE_MODULES, PASSPHRASE, free_port, node_binary

GATEWAY = Path(__file__).with_name("gateway.mjs")


def _wait_http(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx2.get(url, timeout=2).status_code < 500:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


class SmartBench:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fhir_port = free_port()
        self.gateway_port = free_port()
        self.upstream = f"http://127.0.0.1:{self.fhir_port}"
        self.fhir_base = f"http://127.0.0.1:{self.gateway_port}/fhir"
        self._procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[Any] = []
        self.gateway: subprocess.Popen[bytes] | None = None

    @classmethod
    @contextmanager
    def start(cls) -> Iterator[SmartBench]:
        folder = Path(tempfile.mkdtemp(prefix="hl-smart-"))
        bench = cls(folder)
        try:
            bench._start_fhir()
            yield bench
        finally:
            bench.stop()
            shutil.rmtree(folder, ignore_errors=True)

    def _start_fhir(self) -> None:
        settings = {
            # Links in answers name the gateway, the only address a client is given.
            "base_url": self.fhir_base,
            "host": "127.0.0.1",
            "port": self.fhir_port,
            "data_dir": str(self.folder / "data"),
            "server_auth": {"types": ["none"]},  # the gateway checks tokens
            "simulator": {"enabled": False, "auto": []},
            "validation": {"inbound": "off"},
            "log_inbound": False,
        }
        config = self.folder / "settings.yaml"
        config.write_text(json.dumps(settings))  # JSON is YAML
        sekmet = Path(sys.executable).with_name("sekmet")
        log = (self.folder / "fhir.log").open("wb")
        self._logs.append(log)
        self._procs.append(
            subprocess.Popen(
                [str(sekmet), "serve", "-c", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                env={**os.environ, "SEKMET_CONFIG": str(config)},
            )
        )
        _wait_http(f"{self.upstream}/fhir/metadata", time.monotonic() + 60)

    def start_gateway(
        self,
        patient: str,
        *,
        token_ttl: int | None = None,
        ehr: str | None = None,
        page_ttl: float | None = None,
        grant: str | None = None,
        everything: bool = True,
        latency_ms: int | None = None,
    ) -> None:
        """(Re)start the SMART gateway for *patient*; tokens live *token_ttl* seconds.

        *ehr* ("epic") adds that EHR's search rules; *page_ttl* makes ``next`` links expire
        that many seconds after they were sent; *grant* is the scope the tokens carry (what
        the person approved) whatever the app asked for; *everything* False offers no
        ``$everything``; *latency_ms* delays every FHIR answer that long (see gateway.mjs).
        """
        self.stop_gateway()
        options = {
            "tokenTtl": token_ttl,
            "ehr": ehr,
            "pageTtl": page_ttl,
            "grant": grant,
            "latencyMs": latency_ms,
            "everything": None if everything else False,
        }
        args = [str(node_binary()), str(GATEWAY), str(NODE_MODULES), str(self.gateway_port)]
        given = {k: v for k, v in options.items() if v is not None}
        args += [self.upstream, patient, json.dumps(given)]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.gateway = proc
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if line != "ready":
            raise RuntimeError(f"the SMART gateway did not start: {line}")
        # Keep draining its output so it never blocks on a full pipe.
        stdout = proc.stdout
        threading.Thread(target=lambda: stdout.read(), daemon=True).start()

    def stop_gateway(self) -> None:
        if self.gateway is not None:
            self.gateway.terminate()
            self.gateway.wait(timeout=10)
            if self.gateway.stdout is not None:
                self.gateway.stdout.close()
            self.gateway = None

    def stop(self) -> None:
        self.stop_gateway()
        for proc in self._procs:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self._logs:
            log.close()

    # -- talking to the FHIR server directly (as its operator, not through the gateway) ----

    def upstream_get(self, path: str, **params: Any) -> dict[str, Any]:
        r = httpx2.get(f"{self.upstream}/fhir/{path}", params=params, timeout=60)
        r.raise_for_status()
        doc: dict[str, Any] = r.json()
        return doc

    def load(self, bundle: dict[str, Any]) -> dict[str, Any]:
        r = httpx2.post(
            f"{self.upstream}/fhir",
            content=json.dumps(bundle).encode(),
            headers={"Content-Type": "application/fhir+json"},
            timeout=300,
        )
        r.raise_for_status()
        doc: dict[str, Any] = r.json()
        return doc

    def put(self, resource: dict[str, Any]) -> dict[str, Any]:
        r = httpx2.put(
            f"{self.upstream}/fhir/{resource['resourceType']}/{resource['id']}",
            content=json.dumps(resource).encode(),
            headers={"Content-Type": "application/fhir+json"},
            timeout=60,
        )
        r.raise_for_status()
        doc: dict[str, Any] = r.json()
        return doc

    def everything(self, patient: str) -> dict[tuple[str, str], dict[str, Any]]:
        """What the server holds for *patient*, as ``$everything`` reports it."""
        doc = self.upstream_get(f"Patient/{patient}/$everything")
        return {
            (e["resource"]["resourceType"], e["resource"]["id"]): e["resource"]
            for e in doc.get("entry", [])
        }

    def search_all(self, rtype: str, **params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        doc = self.upstream_get(rtype, _count="1000", **params)
        out += [
            e["resource"]
            for e in doc.get("entry", [])
            if e.get("search", {}).get("mode") != "outcome"
        ]
        if any(link["relation"] == "next" for link in doc.get("link", [])):
            raise AssertionError("raise _count in search_all")
        return out


def play_browser(url: str) -> None:
    """What the user's browser does: ask the authorisation server, follow its redirect."""
    answer = httpx2.get(url, follow_redirects=False, timeout=10)
    assert answer.status_code in (302, 303), answer.status_code
    callback = httpx2.URL(answer.headers["location"])
    assert callback.host == "127.0.0.1" and callback.path == "/callback"
    assert httpx2.get(callback, timeout=10).status_code == 200


def cli_connect(home: Path, base: str, *extra: str) -> tuple[str, str]:
    """`healthlocker connect clinic --no-browser` as a user runs it, the test playing the
    browser; its stdout and stderr once it has finished (successfully: asserted)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHLOCKER_")}
    env |= {"HEALTHLOCKER_HOME": str(home), "HEALTHLOCKER_PASSPHRASE": PASSPHRASE}
    args = ["connect", "clinic", "--fhir-base", base, "--client-id", "hl-cli", "--no-browser"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "healthlocker.cli", *args, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    url = ""
    while not url:
        line = proc.stderr.readline()
        assert line, "connect ended without printing the sign-in URL"
        url = line.strip() if line.strip().startswith("http") else ""
    play_browser(url)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out, err


def patient_of(response: dict[str, Any]) -> str:
    """The id the server gave the Patient in a transaction-response."""
    for entry in response.get("entry", []):
        resource = entry.get("resource") or {}
        if resource.get("resourceType") == "Patient":
            return str(resource["id"])
        location = (entry.get("response") or {}).get("location", "")
        if "/Patient/" in location:
            return str(location.split("/Patient/")[1].split("/")[0])
    raise AssertionError("no Patient in the transaction response")
