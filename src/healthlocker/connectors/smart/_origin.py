"""Where the token may go: the approved FHIR origin, URL normalisation and the address check.

* The approved origin is the base's scheme, host, port and path prefix. A URL is normalised
  before it is checked (percent-encoded dots decoded, dot segments removed; encoded slashes,
  backslashes and encoded percent signs refused), and the normalised URL is the one sent, so
  the server cannot read a path differently from the way it was checked.
* A host that resolves to a private, link-local, loopback or otherwise special address is
  refused, unless the configured base itself is on loopback (tests and local servers). The
  host is resolved once per request and the request goes to the address that was checked
  (:func:`aim`), the host name kept for ``Host``, TLS SNI and the certificate check: no
  second resolution, so no DNS-rebinding window between the check and the connection.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2

from healthlocker.errors import OriginError, SyncError

Resolver = Callable[[str], list[str]]

_ENCODED_DOT = re.compile(r"%2e", re.IGNORECASE)
_AMBIGUOUS = re.compile(r"%2f|%5c|%25|\\", re.IGNORECASE)


def system_resolver(host: str) -> list[str]:
    """The host's addresses in the order the system prefers them (RFC 6724), no repeats."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        raise SyncError(f"cannot resolve {host}; check the address and your network") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Origin:
    """The approved FHIR origin: scheme, host, port and path prefix of the base."""

    scheme: str
    host: str
    port: int
    prefix: str

    @classmethod
    def of(cls, base: str) -> Origin:
        url = httpx2.URL(normalise_base(base))
        port = url.port or (443 if url.scheme == "https" else 80)
        return cls(url.scheme, url.host.lower(), port, url.path.rstrip("/") + "/")

    @property
    def base(self) -> str:
        default = 443 if self.scheme == "https" else 80
        port = "" if self.port == default else f":{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}{port}{self.prefix.rstrip('/')}"

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def allows(self, url: httpx2.URL) -> bool:
        """Whether *url* (normalised with :func:`normalise_url`) is on this origin."""
        port = url.port or (443 if url.scheme == "https" else 80)
        path = url.path if url.path.endswith("/") else url.path + "/"
        return (
            url.scheme == self.scheme
            and url.host.lower() == self.host
            and port == self.port
            and path.startswith(self.prefix)
            and not url.userinfo
        )


def normalise_base(base: str) -> str:
    """A FHIR base as we store it; https unless on loopback; no query, fragment or userinfo."""
    try:
        url = httpx2.URL(base.strip())
    except Exception:
        raise SyncError(f"{base!r} is not a URL") from None
    if url.scheme not in ("https", "http") or not url.host:
        raise SyncError(f"{base!r} is not an http(s) URL")
    if url.scheme == "http" and not is_loopback(url.host):
        raise SyncError(f"{base} uses plain http; a FHIR API must use https (loopback excepted)")
    if url.query or url.fragment or url.userinfo:
        raise SyncError(f"{base} has a query, fragment or credentials; give the bare FHIR base")
    return str(url.copy_with(path=url.path.rstrip("/") or "/")).rstrip("/")


def _remove_dot_segments(path: str) -> str:
    """RFC 3986, section 5.2.4, on a path whose dots are already decoded."""
    out: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        elif segment == ".":
            if last:
                out.append("")
        else:
            out.append(segment)
    return "/".join(out) if out != [""] else "/"


def normalise_url(url: httpx2.URL, label: str) -> httpx2.URL:
    """*url* as a server will read its path: dots decoded and resolved. Ambiguous paths
    (an encoded slash, backslash or percent sign) are refused rather than guessed at."""
    raw = url.raw_path.decode("ascii")
    path, sep, query = raw.partition("?")
    if _AMBIGUOUS.search(path):
        raise OriginError(
            f"{label}: a link whose path holds an encoded slash, backslash or percent sign; "
            "stopped (the token was not sent there)"
        )
    path = _remove_dot_segments(_ENCODED_DOT.sub(".", path) or "/")
    return url.copy_with(raw_path=(path + sep + query).encode("ascii"))


def check_address(url: httpx2.URL, *, allow_local: bool, resolve: Resolver) -> list[str]:
    """The addresses of *url*'s host, each checked; private, link-local, loopback or reserved
    ones are refused (SSRF guard) unless *allow_local*. Resolves the host exactly once."""
    host = url.host.strip("[]")
    if ip_literal(host):
        found = [host]
    else:
        found = [a.split("%")[0] for a in resolve(host)]
        if not found:
            raise SyncError(f"cannot resolve {url.host}; check the address and your network")
    if allow_local:
        return found
    for address in found:
        ip = ipaddress.ip_address(address)
        if (
            ip.is_private
            or ip.is_loopback
            or ip.is_link_local
            or ip.is_reserved
            or ip.is_multicast
            or ip.is_unspecified
        ):
            raise OriginError(
                f"{url.host} is on a private or link-local address ({ip}); refused "
                "(only a FHIR base on loopback may use local addresses)"
            )
    return found


@dataclass(frozen=True)
class Aimed:
    """One request aimed at one checked address of the URL's host."""

    url: httpx2.URL
    headers: dict[str, str]
    extensions: dict[str, Any]


def aim(url: httpx2.URL, addresses: list[str]) -> Iterator[Aimed]:
    """*url* aimed at each checked address in turn; ``Host`` and TLS SNI keep the host name,
    so the certificate is still checked against the name the user gave."""
    if ip_literal(url.host):
        yield Aimed(url, {}, {})
        return
    sni = {"sni_hostname": url.host} if url.scheme == "https" else {}
    for address in addresses:
        yield Aimed(url.copy_with(host=address), {"Host": url.netloc.decode("ascii")}, sni)


def send_checked(
    client: httpx2.Client,
    method: str,
    url: httpx2.URL,
    *,
    allow_local: bool,
    resolve: Resolver,
    **kwargs: Any,
) -> httpx2.Response:
    """One request (discovery, token endpoint) to a checked address of *url*'s host."""
    headers: dict[str, str] = dict(kwargs.pop("headers", None) or {})
    addresses = check_address(url, allow_local=allow_local, resolve=resolve)
    targets = list(aim(url, addresses))
    for i, target in enumerate(targets):
        try:
            return client.request(
                method,
                target.url,
                headers={**headers, **target.headers},
                extensions=target.extensions,
                **kwargs,
            )
        except httpx2.ConnectError:
            if i == len(targets) - 1:
                raise
    raise httpx2.ConnectError("no address to connect to")  # unreachable: check_address found one
