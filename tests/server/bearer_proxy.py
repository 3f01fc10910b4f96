"""A loopback proxy that adds ``Authorization: Bearer <token>`` and changes nothing else.

The MCP conformance suite's server mode has no way to send a token (every scenario connects
with a bare ``StreamableHTTPClientTransport``), and remote mode refuses unauthenticated MCP
calls. So the suite talks to this proxy, which forwards each request to the real server with
the token added, and streams the answer back as it came (status, headers, raw body bytes).

Host and Origin keep their meaning, so the server's DNS-rebinding checks still run on what the
client sent: only a Host naming the proxy itself (or an Origin of the proxy itself) becomes
the same name with the server's port; any other Host or Origin goes through untouched.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx2

# Hop-by-hop headers (RFC 9110 section 7.6.1) belong to one connection, not the message.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


@contextmanager
def bearer_proxy(upstream: str, token: str) -> Iterator[str]:
    """Serve the proxy on a free loopback port; yields its base URL (``http://127.0.0.1:N``)."""
    target = urlsplit(upstream)
    http = httpx2.Client(timeout=60, follow_redirects=False)
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    proxy.daemon_threads = True
    port = proxy.server_address[1]
    proxy.forward = _Forward(http, target.scheme, target.port or 80, port, token)  # type: ignore[attr-defined]
    thread = threading.Thread(target=proxy.serve_forever, name="bearer-proxy", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=10)
        http.close()


class _Forward:
    def __init__(
        self, http: httpx2.Client, scheme: str, upstream_port: int, own_port: int, token: str
    ) -> None:
        self.http = http
        self.scheme = scheme
        self.upstream_port = upstream_port
        self.own_port = own_port
        self.token = token

    def host(self, value: str) -> str:
        """The proxy's own address becomes the server's; every other Host is passed through."""
        for name in LOOPBACK_NAMES:
            if value.lower() == f"{name}:{self.own_port}":
                return f"{name}:{self.upstream_port}"
        return value

    def origin(self, value: str) -> str:
        for name in LOOPBACK_NAMES:
            if value.lower().rstrip("/") == f"http://{name}:{self.own_port}":
                return f"http://{name}:{self.upstream_port}"
        return value

    def headers(self, incoming: list[tuple[str, str]]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for key, value in incoming:
            lower = key.lower()
            if lower in HOP_BY_HOP or lower in ("authorization", "content-length"):
                continue
            if lower == "host":
                value = self.host(value)
            elif lower == "origin":
                value = self.origin(value)
            out.append((key, value))
        out.append(("Authorization", f"Bearer {self.token}"))
        return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._relay()

    def do_POST(self) -> None:
        self._relay()

    def do_DELETE(self) -> None:
        self._relay()

    def do_PUT(self) -> None:
        self._relay()

    def do_OPTIONS(self) -> None:
        self._relay()

    def do_HEAD(self) -> None:
        self._relay()

    def log_message(self, format: str, *args: object) -> None:
        pass  # the test shows the suite's own report; a line per request would bury it

    def _relay(self) -> None:
        forward: _Forward = self.server.forward  # type: ignore[attr-defined]
        body = self._body()
        # A bare Request (not build_request) carries exactly these headers, with no client
        # defaults added, and keeps the Host we pass: the server sees what the client sent.
        upstream = f"{forward.scheme}://127.0.0.1:{forward.upstream_port}{self.path}"
        headers = forward.headers(list(self.headers.items()))
        request = httpx2.Request(self.command, upstream, headers=headers, content=body)
        try:
            response = forward.http.send(request, stream=True)
        except httpx2.TransportError as exc:
            self.send_error(502, f"upstream unreachable: {type(exc).__name__}")
            return
        try:
            self._answer(response)
        except (httpx2.TransportError, OSError):
            # One side went away mid-answer: the client hung up, or the proxy is shutting down
            # under a stream it holds open (an SSE GET). Nothing more to relay on this connection.
            self.close_connection = True
        finally:
            response.close()

    def _body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _answer(self, response: httpx2.Response) -> None:
        self.send_response_only(response.status_code, response.reason_phrase)
        length = response.headers.get("content-length")
        if self.command == "HEAD" or response.status_code in (204, 304):
            length = "0"  # no body may follow, so no chunked framing either
        for key, value in response.headers.multi_items():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")  # streamed (SSE): relay as it comes
        self.end_headers()
        for chunk in response.iter_raw():
            if not chunk:
                continue
            if length is None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            else:
                self.wfile.write(chunk)
            self.wfile.flush()
        if length is None:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
