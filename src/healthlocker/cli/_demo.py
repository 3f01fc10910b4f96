"""``demo``: try healthlocker in a minute, from any installation (the wheel carries its one
sample person): a throwaway vault, that person's records imported, and an assistant (the MCP
SDK's client, over stdio) asking about them. Nothing is left behind."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from healthlocker.cli._command import Result, Said, command
from healthlocker.errors import HealthLockerError

# One person, so that every answer is about one person: each of their files (in demo_person/,
# carried in the wheel; links to samples/ in the repository, see samples/SOURCES.md) and the
# source it is imported as. Today one file: the EHR export (a FHIR Bundle) of one Synthea
# patient, which holds labs, medications, conditions, visits, claims and coverage. A story that
# gathers one person from several sources adds their files here, their commands to AFTER, and
# says so in WHO.
PERSON = (("sample-ehr", "ehr.json"),)
WHO = "One synthetic person's records: the EHR export of Adalberto Hartmann (Synthea)."
# What the person looks at after the assistant's session, each run as the real command.
AFTER = (("grants",), ("audit",), ("audit", "--verify"))


@command("demo", "try it: one sample person's records and an assistant asking about them")
def demo(args: argparse.Namespace) -> Result:
    import tempfile
    from contextlib import ExitStack
    from importlib import resources
    from pathlib import Path

    from healthlocker.server import demo_session

    folder = resources.files("healthlocker.cli").joinpath("demo_person")
    with tempfile.TemporaryDirectory(prefix="healthlocker-demo-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHLOCKER_")}
        env |= {
            "HEALTHLOCKER_HOME": str(Path(tmp) / "vault"),
            "HEALTHLOCKER_PASSPHRASE": "demo passphrase, not a real one",
        }
        print(WHO, flush=True)
        _run(env, "init")
        with ExitStack() as files:
            for source, name in PERSON:
                path = files.enter_context(resources.as_file(folder.joinpath(name)))
                _run(env, "import", str(path), "--source", source)
        answered = demo_session(env, lambda text: print(text, flush=True))
        for step in AFTER if answered else ():
            _run(env, *step)
    if not answered:
        raise HealthLockerError("a tool call of the demo failed (shown above)")
    return Said("\nDone; the throwaway vault is deleted.")


def _run(env: dict[str, str], *args: str) -> None:
    """One step, shown as a person would type it, run as the real command."""
    print(f"$ healthlocker {' '.join(args)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "healthlocker.cli", *args], env=env, check=False)
    if done.returncode:
        raise HealthLockerError(f"the demo's `healthlocker {args[0]}` failed (shown above)")


COMMANDS = (demo,)
