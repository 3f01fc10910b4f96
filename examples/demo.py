"""The main job on the bundled sample data, in a throwaway vault that is deleted afterwards.

Run it with ``scripts/demo``. It creates a vault in a temporary folder, imports the bundled
Synthea and Blue Button samples, and shows what is stored.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "fhir"


def healthlocker(*args: str, env: dict[str, str]) -> None:
    print(f"\n$ healthlocker {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "healthlocker.cli", *args], env=env, check=True)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="healthlocker-demo-") as tmp:
        env = {
            **os.environ,
            "HEALTHLOCKER_HOME": str(Path(tmp) / "vault"),
            "HEALTHLOCKER_PASSPHRASE": "demo passphrase, not a real one",
        }
        healthlocker("init", env=env)
        healthlocker("import", str(SAMPLES / "synthea"), str(SAMPLES / "bluebutton"), env=env)
        healthlocker("status", env=env)
        healthlocker("sources", env=env)


if __name__ == "__main__":
    main()
