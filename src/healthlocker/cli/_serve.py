"""``serve``: the MCP server, over stdio or (``--http``) remote.

Start-up is measured: this module imports nothing but the server it starts."""

from __future__ import annotations

import argparse

from healthlocker.cli._command import Result, Said, arg, command
from healthlocker.cli._common import prompt
from healthlocker.errors import HealthLockerError


@command(
    "serve",
    "run the MCP server (stdio; --http for remote mode)",
    arg("--client", help="the client's name for consent and audit (default: as reported)"),
    arg("--http", action="store_true", help="serve Streamable HTTP behind OAuth"),
    arg("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"),
    arg("--port", type=int, default=8765, help="port to bind (default 8765)"),
    arg("--public-url", metavar="URL", help="the https origin clients use (behind a TLS proxy)"),
    arg(
        "--behind-tls-proxy",
        action="store_true",
        help="allow a non-loopback bind: a TLS proxy terminates HTTPS in front of it",
    ),
    arg("--workers", type=int, default=1, help="worker processes (default 1)"),
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
        serve_http(home=args.home, config=config, workers=args.workers, prompt=prompt)
        return Said("")
    from healthlocker.consent import check_client
    from healthlocker.server import serve_stdio

    client = None if args.client is None else check_client(args.client)
    serve_stdio(home=args.home, client=client, ephemeral=args.ephemeral)
    return Said("")


COMMANDS = (serve,)
