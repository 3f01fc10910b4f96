"""``serve``: the MCP server, over stdio or (``--http``) remote.

Start-up is measured: this module imports nothing but the server it starts."""

from __future__ import annotations

import argparse
import sys

from healthlocker.cli._command import Result, Said, arg, command, whole_number
from healthlocker.cli._common import prompt
from healthlocker.errors import HealthLockerError


@command(
    "serve",
    "run the MCP server (stdio; --http for remote mode)",
    arg("--client", help="the client's name for consent and audit (default: as reported)"),
    arg("--http", action="store_true", help="serve Streamable HTTP behind OAuth"),
    arg("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"),
    arg("--port", type=whole_number(1, 65535), default=8765, help="port to bind (default 8765)"),
    arg("--public-url", metavar="URL", help="the https origin clients use (behind a TLS proxy)"),
    arg(
        "--behind-tls-proxy",
        action="store_true",
        help="allow a non-loopback bind: a TLS proxy terminates HTTPS in front of it",
    ),
    arg("--workers", type=whole_number(1, 64), default=1, help="worker processes (default 1)"),
    arg("--issuer", metavar="URL", help="accept tokens of this external OAuth issuer"),
    arg("--jwks-url", metavar="URL", help="the external issuer's JWKS"),
    arg(
        "--ephemeral",
        nargs="+",
        metavar="PATH",
        help="import these files into memory for this session only; write nothing",
    ),
)
def serve(args: argparse.Namespace) -> Result:
    if args.http:
        from healthlocker.server import HttpConfig, serve_http

        if args.ephemeral or args.client:
            raise HealthLockerError(
                "--ephemeral and --client are for stdio; over HTTP the OAuth client is the client"
            )
        config = HttpConfig(
            host=args.host,
            port=args.port,
            public_url=args.public_url,
            behind_proxy=args.behind_tls_proxy,
            issuer=args.issuer,
            jwks_url=args.jwks_url,
        )
        _check_port(args.host, args.port)
        serve_http(home=args.home, config=config, workers=args.workers, prompt=prompt)
        return Said("")
    from healthlocker.consent import check_client
    from healthlocker.server import serve_stdio

    client = None if args.client is None else check_client(args.client)
    if sys.stdin.isatty():
        # A person ran it by hand: say why nothing seems to happen (stderr: stdout is MCP's).
        print(
            "healthlocker serve is waiting for an MCP client on stdin/stdout (it is started by "
            "your assistant, not typed at): set one up with `healthlocker setup claude-desktop` "
            "(or claude-code, vscode, cursor); Ctrl-D stops it.",
            file=sys.stderr,
            flush=True,
        )
    serve_stdio(home=args.home, client=client, ephemeral=args.ephemeral)
    return Said("")


def _check_port(host: str, port: int) -> None:
    """Refuse, before saying "serving", a port that cannot be listened on (in use, or
    privileged). The server binds it again itself a moment later."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except OSError as exc:
        raise HealthLockerError(f"cannot listen on {host}: {exc.strerror or exc}") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind(address)
        except OSError as exc:
            raise HealthLockerError(
                f"cannot listen on {host} port {port}: {exc.strerror or exc}; "
                "is another server using it? Choose another with --port"
            ) from None


COMMANDS = (serve,)
