"""`healthlocker serve --ephemeral PATH...` leaves nothing behind.

A real stdio session, spawned the way an assistant spawns it, in a fresh HOME, TMPDIR, XDG
folders, working folder and HEALTHLOCKER_HOME, with no passphrase anywhere: the calls succeed
(the ephemeral path never asks for one), and afterwards no file or folder is left that was not
there before, no vault was made, and the imported file is as it was. Under strace, the server
process and all its threads and children open no file for writing and create, rename or remove
none. Grants the person makes in such a session live in its in-memory vault and die with it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client import ClientRequestContext
from mcp.client.stdio import stdio_client
from mcp.types import (
    CallToolResult,
    ElicitRequestFormParams,
    ElicitRequestParams,
    ElicitResult,
    ErrorData,
    Implementation,
)

from helpers import SAMPLES

PERSON = SAMPLES / "synthea" / "Alexis_Toy_68cd1181-6359-4047-a77f-a165d7912480.json"
CLIENT = "eph"
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("list_labs", {"limit": 5}),
    ("list_labs", {"test": "glucose"}),  # the grant made a call ago: no second prompt
    ("get_meds", {"status": "all"}),
    ("list_conditions", {}),
]


@dataclass(frozen=True)
class Fresh:
    """A throwaway world for one server: every folder it might write to is under `root`."""

    root: Path
    vault_home: Path  # HEALTHLOCKER_HOME: must never come to exist
    cwd: Path
    sample: Path
    logs: Path  # outside root: the server's stderr, strace's log
    env: dict[str, str]


@pytest.fixture
def fresh(tmp_path: Path) -> Fresh:
    root = tmp_path / "fresh"
    home = root / "home"
    folders = {
        "HOME": home,
        "TMPDIR": root / "tmp",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_RUNTIME_DIR": root / "run",
    }
    for folder in (*folders.values(), root / "cwd", root / "input"):
        folder.mkdir(parents=True)
    sample = root / "input" / PERSON.name
    shutil.copyfile(PERSON, sample)
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HEALTHLOCKER_", "XDG_")) and k not in ("TMP", "TEMP")
    }
    env.update({name: str(path) for name, path in folders.items()})
    vault_home = home / ".healthlocker"
    env.update(
        HEALTHLOCKER_HOME=str(vault_home),
        TMP=str(root / "tmp"),
        TEMP=str(root / "tmp"),
        # Python's own bytecode cache is the one write that is not the server's doing.
        PYTHONDONTWRITEBYTECODE="1",
    )
    return Fresh(root, vault_home, root / "cwd", sample, logs, env)


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under *root*, with a digest of each file's content."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_dir() and not path.is_symlink():
            out[rel] = "folder"
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def accept_for_an_hour(asked: list[str]) -> Any:
    async def callback(
        ctx: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult | ErrorData:
        assert isinstance(params, ElicitRequestFormParams)
        asked.append(params.message)
        return ElicitResult(action="accept", content={"allow": "for 1 hour"})

    return callback


async def session(
    fresh: Fresh,
    calls: list[tuple[str, dict[str, Any]]],
    *,
    asked: list[str] | None = None,
    wrap: list[str] | None = None,
) -> list[CallToolResult]:
    """One `serve --ephemeral` session over stdio: the calls, then the client closes."""
    argv = [
        *(wrap or []),
        sys.executable,
        "-m",
        "healthlocker.cli",
        "serve",
        "--ephemeral",
        str(fresh.sample),
        "--client",
        CLIENT,
    ]
    params = StdioServerParameters(command=argv[0], args=argv[1:], env=fresh.env, cwd=fresh.cwd)
    kwargs = {"elicitation_callback": accept_for_an_hour(asked)} if asked is not None else {}
    with (fresh.logs / "server.stderr").open("a", encoding="utf-8") as errlog:
        async with Client(
            stdio_client(params, errlog=errlog),
            mode="legacy",
            client_info=Implementation(name="ephemeral-test", version="1"),
            read_timeout_seconds=120,
            **kwargs,
        ) as client:
            return [await client.call_tool(name, args) for name, args in calls]


def _stderr(fresh: Fresh) -> str:
    path = fresh.logs / "server.stderr"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def assert_nothing_left(fresh: Fresh, before: dict[str, str]) -> None:
    after = snapshot(fresh.root)
    left = sorted(set(after) - set(before))
    changed = sorted(k for k in before if k in after and after[k] != before[k])
    assert not left, f"left behind: {left}"
    assert not changed, f"changed: {changed}"
    assert set(after) == set(before), f"removed: {sorted(set(before) - set(after))}"
    assert not fresh.vault_home.exists()


def assert_served(results: list[CallToolResult]) -> None:
    for (name, _), result in zip(CALLS, results, strict=True):
        assert not result.is_error, (name, result.content)
        assert result.structured_content is not None
    labs = results[0].structured_content
    assert labs is not None and labs["results"], "the sample's labs were served"


@pytest.mark.anyio
async def test_ephemeral_session_leaves_nothing_behind(fresh: Fresh) -> None:
    before = snapshot(fresh.root)
    asked: list[str] = []
    results = await session(fresh, CALLS, asked=asked)
    assert_served(results)
    # One prompt per tool: the second list_labs call used the grant the first one made.
    assert len(asked) == 3 and all(f"'{CLIENT}'" in m for m in asked), asked
    assert_nothing_left(fresh, before)
    assert "passphrase" not in _stderr(fresh).lower(), _stderr(fresh)


@pytest.mark.anyio
async def test_grants_from_an_ephemeral_session_are_gone_after_it(fresh: Fresh) -> None:
    before = snapshot(fresh.root)
    asked: list[str] = []
    first = await session(fresh, [("list_labs", {}), ("list_labs", {})], asked=asked)
    assert not any(r.is_error for r in first) and len(asked) == 1
    # A new session over the same file, from a client that cannot show a prompt: the grant of
    # an hour made a moment ago lived in the last session's memory, so nothing allows this.
    [again] = await session(fresh, [("list_labs", {})])
    assert again.is_error and again.structured_content is None
    text = again.content[0].text  # type: ignore[union-attr]
    assert f"healthlocker grant list_labs --client {CLIENT} --for 1h" in text
    assert_nothing_left(fresh, before)


# -- under strace ----------------------------------------------------------------------------

# Syscalls that create, change or remove a file or folder (openat's flags say which opens do).
TRACED = (
    "open,openat,openat2,creat,truncate,rename,renameat,renameat2,link,linkat,symlink,"
    "symlinkat,unlink,unlinkat,mkdir,mkdirat,rmdir,chmod,fchmodat,utimensat"
)
_CALL = re.compile(r"^(?:\d+\s+)?(?P<name>\w+)\((?P<args>.*?)(?:\)\s+=\s+(?P<ret>-?\d+).*)?$")
_WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")
# Where a write is no write to the disk: devices (/dev/null, a tty) and the kernel's views.
_HARMLESS = ("/dev/", "/proc/", "/sys/")


def strace_usable() -> str | None:
    """Why strace cannot be used here, or None when it can."""
    exe = shutil.which("strace")
    if exe is None:
        return "strace is not installed (Debian package strace)"
    probe = subprocess.run(
        [exe, "-f", "-o", os.devnull, "true"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        return f"strace cannot trace here: {probe.stderr.strip()[:200]}"
    return None


def writes_in(log: str) -> list[str]:
    """Every traced call that would create, change or remove something outside /dev, /proc."""
    found = []
    for line in log.splitlines():
        m = _CALL.match(line.strip())
        if m is None or m.group("name") not in TRACED.split(","):
            continue
        args = m.group("args")
        paths = re.findall(r'"((?:[^"\\]|\\.)*)"', args)
        if m.group("name") in ("open", "openat", "openat2") and not any(
            flag in args for flag in _WRITE_FLAGS
        ):
            continue
        if paths and all(p.startswith(_HARMLESS) for p in paths):
            continue
        found.append(line.strip())
    return found


@pytest.mark.anyio
async def test_ephemeral_server_opens_no_file_for_writing(fresh: Fresh) -> None:
    reason = strace_usable()
    if reason is not None:
        pytest.skip(reason)
    log = fresh.logs / "strace.log"
    before = snapshot(fresh.root)
    wrap = ["strace", "-f", "-qq", "-s", "512", "-e", f"trace={TRACED}", "-o", str(log)]
    results = await session(fresh, CALLS, asked=[], wrap=wrap)
    assert_served(results)
    traced = log.read_text(encoding="utf-8", errors="replace")
    # The trace saw the server itself: it read the file it was given.
    assert str(fresh.sample) in traced, traced[:2000]
    assert writes_in(traced) == [], "the server wrote outside /dev and /proc"
    # And no keyring, no vault, no passphrase: nothing under the fresh home was even looked at
    # for writing, and nothing is left there.
    assert_nothing_left(fresh, before)


def test_the_write_detector_sees_writes() -> None:
    """`writes_in` on lines strace prints: reads and device writes pass, the rest is caught."""
    log = "\n".join(
        [
            '101 openat(AT_FDCWD, "/usr/lib/python3.11/os.py", O_RDONLY|O_CLOEXEC) = 3',
            '101 openat(AT_FDCWD, "/dev/null", O_WRONLY|O_CLOEXEC) = 4',
            '102 openat(AT_FDCWD, "/proc/self/status", O_RDONLY) = 5',
            '102 openat(AT_FDCWD, "/home/x/.cache/a", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 6',
            '102 openat(AT_FDCWD, "/tmp/v.db", O_RDWR|O_CREAT|O_CLOEXEC, 0644 <unfinished ...>',
            '103 mkdir("/home/x/.healthlocker", 0700) = -1 EEXIST (File exists)',
            '103 unlink("/tmp/v.db-journal") = 0',
            '103 renameat2(AT_FDCWD, "/tmp/a", AT_FDCWD, "/tmp/b", RENAME_NOREPLACE) = 0',
            "104 <... openat resumed>) = 7",
            "104 +++ exited with 0 +++",
        ]
    )
    found = writes_in(log)
    assert [line.split()[1].split("(")[0] for line in found] == [
        "openat",
        "openat",
        "mkdir",
        "unlink",
        "renameat2",
    ]
