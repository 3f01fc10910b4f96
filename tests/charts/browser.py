"""The test host for the MCP Apps views: a loopback page built from ext-apps' host side, and
the views served the way a host frames them (sandboxed, under the CSP a host derives from a
resource that declares no outside domain)."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from healthlocker import charts
from helpers import NODE_MODULES, ROOT, chromium, node_binary

DRIVE = Path(__file__).with_name("drive.mjs")
BUILD = ROOT / "tools" / "node" / "build_charts.mjs"
OUTPUT = ROOT / "tests" / "output" / "charts"
# What an MCP Apps host enforces for a view whose resource declares no domains (the spec's
# default): nothing from outside, inline script and style only, no eval.
HOST_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self' data:; connect-src 'none'"
)
HOST_PAGE = (
    b"<!doctype html><title>test host</title><link rel=icon href=data:,>"
    b"<script type=module src=/host.js></script>"
)


def build_host() -> bytes:
    """The host page's script, bundled from tests/charts/host.js and ext-apps' AppBridge."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    out = OUTPUT / "host.js"
    done = subprocess.run(
        [str(node_binary()), str(BUILD), "--harness", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


@contextmanager
def host(served: dict[str, str] | None = None) -> Iterator[str]:
    """Serve the host page and the views on loopback; yields the base URL. *served*: view name
    → its document as a server gave it (default: every view, from ``charts.html``)."""
    script = build_host()
    if served is None:
        served = {v.name: charts.html(v.uri) for v in charts.VIEWS.values()}
    pages = {name: page.encode() for name, page in served.items()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/":
                self.reply(HOST_PAGE, "text/html")
            elif self.path == "/host.js":
                self.reply(script, "text/javascript")
            elif self.path.startswith("/app/") and self.path[5:] in pages:
                self.reply(pages[self.path[5:]], "text/html", HOST_CSP)
            else:
                self.send_error(404)

        def reply(self, body: bytes, kind: str, csp: str | None = None) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            if csp:
                self.send_header("Content-Security-Policy", csp)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def drive(base: str, cases: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Open each case's view in Chromium with its tool result; what each view drew, by name."""
    done = subprocess.run(
        [str(node_binary()), str(DRIVE), str(NODE_MODULES)],
        input=json.dumps({"chromium": chromium(), "base": base, "cases": cases}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"the browser failed:\n{done.stderr[-3000:]}"
    return {report["name"]: report for report in json.loads(done.stdout)}
