"""`serve` refuses what it cannot do before it says it is serving, and says what it waits for
when a person runs it at a terminal."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from helpers import run_cli, run_in_terminal


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "v"
    assert run_cli("init", home=folder).returncode == 0
    return folder


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--port", "99999"), "argument --port: 99999 is out of range: give from 1 to 65535"),
        (("--port", "0"), "argument --port: 0 is out of range"),
        (("--workers", "0"), "argument --workers: 0 is out of range: give from 1 to 64"),
        (("--workers", "two"), "argument --workers: not a whole number: 'two'"),
    ],
)
def test_impossible_settings_are_wrong_usage(home: Path, args: tuple[str, ...], says: str) -> None:
    result = run_cli("serve", "--http", *args, home=home)
    assert result.returncode == 2
    assert result.stderr.startswith(f"healthlocker serve: {says}")
    assert result.stderr.count("\n") == 1
    assert "serving" not in result.stderr


def test_a_port_in_use_is_refused_before_serving(home: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("serve", "--http", "--port", str(port), home=home)
    assert result.returncode == 1
    assert result.stderr == (
        f"healthlocker: cannot listen on 127.0.0.1 port {port}: Address already in use; "
        "is another server using it? Choose another with --port\n"
    )


def test_serve_at_a_terminal_says_what_it_is_waiting_for(home: Path) -> None:
    """Regression: at a terminal `serve` printed nothing and looked hung."""
    code, out, err = run_in_terminal(
        "serve", answers=("\x04",), after="Ctrl-D stops it.\n", home=home, timeout=60
    )
    assert "waiting for an MCP client on stdin/stdout" in err
    assert "healthlocker setup claude-desktop" in err
    assert err.count("\n") == 1
    assert out == ""
    assert code == 0
