"""Helpers shared by the tests (import as ``from helpers import ...``)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from healthlocker.catalogue import ToolSpec

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "fhir"
PASSPHRASE = "correct horse battery staple"
# Where scripts/setup --test installs the Node tools the tests drive (tools/node/package.json).
NODE_MODULES = ROOT / "tools" / "node" / "node_modules"


def node_binary() -> Path:
    """The Node 22 runtime from tools/node (the system Node may be older than the tools need)."""
    found = sorted(NODE_MODULES.glob("node-linux-*/bin/node"))
    if not found:
        raise RuntimeError("no Node runtime in tools/node; run scripts/setup --test")
    return found[0]


def chromium() -> str:
    """Debian's chromium (or $CHROMIUM), for the browser tests. Missing is a failure, not a
    skip: CI has root apt."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail(
            "no Chromium for the browser tests: run scripts/setup --test as root where apt-get "
            "works (it installs Debian's chromium), or set CHROMIUM to a Chromium binary"
        )
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample_files() -> list[Path]:
    return sorted(SAMPLES.rglob("*.json"))


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@contextmanager
def vault_file(path: Path | None) -> Iterator[sqlite3.Connection]:
    """The vault's SQLite file opened directly, as anyone with a copy of it could (for byte
    checks and tampering; the library itself never hands its connection out). What the block
    changes is committed when it ends."""
    assert path is not None, "an in-memory vault has no file"
    conn = sqlite3.connect(path)
    try:
        yield conn
        conn.commit()
    finally:
        conn.close()


def run_cli(
    *args: str,
    home: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``healthlocker`` as a real process, the way a user does."""
    return subprocess.run(
        [sys.executable, "-m", "healthlocker.cli", *args],
        capture_output=True,
        text=True,
        env=cli_env(home, env),
        input=input,
        timeout=300,
        check=False,
    )


def cli_env(home: Path | None = None, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment ``run_cli`` gives the command: this one's, less any HEALTHLOCKER_*
    setting, plus the test passphrase, *home* and *env*."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHLOCKER_")}
    full_env["HEALTHLOCKER_PASSPHRASE"] = PASSPHRASE
    if home is not None:
        full_env["HEALTHLOCKER_HOME"] = str(home)
    full_env.update(env or {})
    return full_env


def run_in_terminal(
    *args: str,
    answers: tuple[str, ...] = (),
    home: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    after: str = ": ",
) -> tuple[int, str, str]:
    """Run ``healthlocker`` with a pseudo-terminal as stdin, as a person at a terminal does:
    each answer is typed once stderr ends with *after* (a prompt) again. "\\x04" is Ctrl-D.
    Returns the exit status, stdout and stderr."""
    import pty
    import select
    import time

    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "healthlocker.cli", *args],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(home, env),
        start_new_session=True,
    )
    os.close(slave)
    assert process.stdout is not None and process.stderr is not None
    err = b""
    deadline = time.monotonic() + timeout
    try:
        for answer in answers:
            seen = len(err)
            while not err[seen:].endswith(after.encode()):
                ready, _, _ = select.select([process.stderr], [], [], deadline - time.monotonic())
                chunk = os.read(process.stderr.fileno(), 4096) if ready else b""
                if not chunk:
                    raise AssertionError(f"no prompt for {answer!r}; stderr so far: {err!r}")
                err += chunk
            os.write(master, answer.encode())
        out, rest = process.communicate(timeout=max(deadline - time.monotonic(), 1))
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, out.decode(), (err + rest).decode()


def scoped_call(view: Any, reader: Any, **kwargs: Any) -> Any:
    """Call a records view as the server does: the window and the person in a ``Scope`` (which
    checks them), every other argument as the view's own."""
    from healthlocker.records import Scope

    scope = {k: kwargs.pop(k) for k in ("window_start", "patient") if k in kwargs}
    return view(Scope(reader, **scope), **kwargs)


def short_ref(resource: str) -> str:
    """How a tool's text cites a stored resource (``Type/id``): its id's first 8 characters,
    or the whole id when it is short (``healthlocker.records._text``)."""
    rid = resource.rsplit("/", 1)[-1]
    return rid if len(rid) <= 20 else rid[:8]


def cites_each(text: str, resources: Any) -> bool:
    """Whether *text* cites every one of *resources* (``Type/id`` each) by its short reference."""
    return all(f"[{short_ref(r)}" in text for r in resources)


def with_view(spec: ToolSpec, view: Callable[..., Any]) -> ToolSpec:
    """*spec* answering through *view* instead of its own (the catalogue names its views, so
    ``dataclasses.replace`` cannot swap one in)."""

    @dataclasses.dataclass(frozen=True)
    class Substituted(ToolSpec):
        @property
        def view(self) -> Callable[..., Any]:
            return view

    return Substituted(**{f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)})
