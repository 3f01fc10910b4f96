"""A tiny FHIR server on a loopback address, for what only a real socket shows: a server that
trickles its answer byte by byte, one that pages slowly for ever, and TLS with SNI.

    with LocalFhir(observations="trickle") as server: server.base ...

It serves ``metadata`` (the fake EHR's CapabilityStatement), ``Patient`` and ``Observation``
(by *observations*: ``"page"`` one page, ``"trickle"`` a byte every 0.2 s for ever, ``"slow"``
a page every 0.3 s, each linking to the next, for ever). It records the Host header and the TLS
server name of every request.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from connectors.smart.fake_ehr import CAPABILITY, observation, patient


def _bundle(resources: list[dict[str, Any]], nxt: str | None = None) -> bytes:
    doc: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }
    if nxt:
        doc["link"] = [{"relation": "next", "url": nxt}]
    return json.dumps(doc).encode()


class LocalFhir:
    def __init__(
        self,
        *,
        observations: str = "page",
        address: str = "127.0.0.1",
        host: str = "127.0.0.1",
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.mode = observations
        self.hosts: list[str] = []
        self.server_names: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hosts.append(self.headers.get("Host", ""))
                path = self.path.split("?")[0].removeprefix("/fhir/")
                if path == "metadata":
                    self._send(json.dumps(CAPABILITY).encode())
                elif path == "Patient":
                    self._send(_bundle([patient()]))
                elif path == "Observation":
                    outer._observations(self)
                else:
                    self.send_error(404)

            def _send(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((address, 0), Handler)
        self._server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        self.port = self._server.server_address[1]
        self.base = f"{scheme}://{host}:{self.port}/fhir"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _observations(self, handler: BaseHTTPRequestHandler) -> None:
        if self.mode == "trickle":
            handler.send_response(200)
            handler.send_header("Content-Type", "application/fhir+json")
            handler.send_header("Content-Length", "1000000")
            handler.end_headers()
            try:
                while True:  # until the client gives up and closes the connection
                    handler.wfile.write(b" ")
                    handler.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                return
        page = int(handler.path.partition("_offset=")[2] or 0)
        if self.mode == "slow":
            time.sleep(0.3)
            nxt = f"{self.base}/Observation?patient=p1&_offset={page + 1}"
            body = _bundle([observation(page)], nxt)
        else:
            body = _bundle([observation(0)])
        handler.send_response(200)
        handler.send_header("Content-Type", "application/fhir+json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def __enter__(self) -> LocalFhir:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
