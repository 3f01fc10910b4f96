"""`healthlocker grant`, `grants`, `revoke` and `audit` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import run_cli


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "v"
    assert run_cli("init", home=folder).returncode == 0
    return folder


def test_grant_review_revoke(home: Path) -> None:
    made = run_cli(
        "grant", "list_labs", "--client", "claude", "--for", "2h", "--months", "12", home=home
    )
    assert made.returncode == 0, made.stderr
    assert "'claude' may use list_labs over the last 12 months until" in made.stdout
    run_cli("grant", "all", "--client", "chatgpt", "--since", "2020-01-01", home=home)
    grants = json.loads(run_cli("grants", "--json", home=home).stdout)
    assert [(g["client"], g["tool"], g["window"]) for g in grants] == [
        ("claude", "list_labs", "last:12m"),
        ("chatgpt", "all", "since:2020-01-01"),
    ]
    table = run_cli("grants", home=home).stdout
    assert "claude" in table
    assert "records since 2020-01-01" in table
    revoked = run_cli("revoke", grants[0]["id"], home=home)
    assert revoked.returncode == 0
    assert "Revoked 1 grant" in revoked.stdout
    assert [g["client"] for g in json.loads(run_cli("grants", "--json", home=home).stdout)] == [
        "chatgpt"
    ]
    everything = json.loads(run_cli("grants", "--all", "--json", home=home).stdout)
    assert [g["live"] for g in everything] == [False, True]
    assert run_cli("revoke", "--all", home=home).returncode == 0
    assert "No live grants" in run_cli("grants", home=home).stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("grant", "list_labs", "--client", "x", "--for", "forever"), "not a duration"),
        (("grant", "list_labs", "--client", "x", "--for", "400d"), "at most 366 days"),
        (("grant", "steal_data", "--client", "x"), "no tool named 'steal_data'"),
        (("grant", "all", "--client", "x", "--since", "yesterday"), "not a date"),
        (("revoke", "nope"), "no live grant 'nope'"),
        # Regressions: 0 months meant all records, -3 showed the internal `last:-3m`, 0h was
        # "not a duration", and a window starting in the future was accepted.
        (("grant", "all", "--client", "x", "--months", "0"), "the last 0 months: give between"),
        (("grant", "all", "--client", "x", "--months", "-3"), "the last -3 months: give between"),
        (("grant", "all", "--client", "x", "--months", "5000"), "give between 1 and 999"),
        (("grant", "all", "--client", "x", "--for", "0h"), "for 0h would never be live"),
        (("grant", "all", "--client", "x", "--since", "2999-01-01"), "2999-01-01 is in the fut"),
        (("grant", "all", "--client", "x", "--since", "20200101"), "not a date: '20200101'"),
    ],
)
def test_bad_consent_commands_are_one_clear_line(
    home: Path, args: tuple[str, ...], says: str
) -> None:
    result = run_cli(*args, home=home)
    assert result.returncode == 1
    assert says in result.stderr
    assert result.stderr.count("\n") == 1


def test_refused_grants_leave_no_grant(home: Path) -> None:
    run_cli("grant", "all", "--client", "x", "--months", "0", home=home)
    run_cli("grant", "all", "--client", "x", "--since", "2999-01-01", home=home)
    assert json.loads(run_cli("grants", "--all", "--json", home=home).stdout) == []


def test_the_same_grant_again_replaces_the_live_one(home: Path) -> None:
    """Regression: granting the same thing twice left two live grants side by side."""
    first = run_cli("grant", "list_labs", "--client", "claude", "--months", "3", home=home)
    [first_id] = [g["id"] for g in json.loads(run_cli("grants", "--json", home=home).stdout)]
    again = run_cli(
        "grant", "list_labs", "--client", "claude", "--months", "3", "--for", "2h", home=home
    )
    assert first.returncode == again.returncode == 0
    assert again.stdout.rstrip().endswith(f"It replaces {first_id}.")
    live = json.loads(run_cli("grants", "--json", home=home).stdout)
    assert len(live) == 1
    assert live[0]["id"] != first_id
    # Another window, tool or client is another consent: it stands beside it.
    run_cli("grant", "list_labs", "--client", "claude", "--months", "12", home=home)
    run_cli("grant", "get_meds", "--client", "claude", "--months", "3", home=home)
    run_cli("grant", "list_labs", "--client", "other", "--months", "3", home=home)
    assert len(json.loads(run_cli("grants", "--json", home=home).stdout)) == 4
    revoked = [g for g in json.loads(run_cli("grants", "--all", "--json", home=home).stdout)]
    assert [g["id"] for g in revoked if g["revoked"]] == [first_id]


def test_audit_since_must_be_a_date(home: Path) -> None:
    """Regression: `audit --since 2020-13-01` was accepted (and matched nothing)."""
    result = run_cli("audit", "--since", "2020-13-01", home=home)
    assert result.returncode == 2
    assert result.stderr == (
        "healthlocker audit: argument --since: not a date: '2020-13-01'; use YYYY-MM-DD "
        "(see `healthlocker audit --help`)\n"
    )


def test_usage_errors_exit_2(home: Path) -> None:
    for args in (
        ("grant", "all"),
        ("revoke",),
        ("revoke", "a", "--all"),
        ("grant", "all", "--client", "x", "--since", "2020-01-01", "--months", "3"),
    ):
        assert run_cli(*args, home=home).returncode == 2, args


def test_audit_of_an_empty_log(home: Path) -> None:
    assert "No audit entries" in run_cli("audit", home=home).stdout
    verified = run_cli("audit", "--verify", "--json", home=home)
    assert json.loads(verified.stdout) == {"intact": True, "problems": []}


@pytest.mark.parametrize(
    ("now", "months", "start"),
    [
        ("2026-08-31", 3, "2026-05-31"),
        ("2026-05-31", 3, "2026-02-28"),
        ("2024-05-31", 3, "2024-02-29"),
        ("2026-03-15", 12, "2025-03-15"),
        ("2026-01-31", 1, "2025-12-31"),
    ],
)
def test_moving_windows_never_start_early(now: str, months: int, start: str) -> None:
    from datetime import UTC, datetime

    from healthlocker.consent import window_start

    at = datetime.fromisoformat(now).replace(tzinfo=UTC)
    assert window_start(f"last:{months}m", at) == start
