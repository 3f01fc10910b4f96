"""The main job on the bundled sample data: a real MCP client session against healthlocker.

Run it with ``scripts/demo``. In a throwaway folder (deleted at the end) it creates a vault,
imports one person's records with the ``healthlocker`` command -- the EHR export (a FHIR
Bundle) of one synthetic Synthea patient, which holds their labs, medications, conditions,
visits and also their insurance claims and coverage -- then starts ``healthlocker serve`` over
stdio through the official MCP SDK client, exactly as an assistant spawns it from its MCP
config, calls each tool, answers the consent prompt the first call of each tool raises
(standing in for the person), and prints the answers, the grants that made and the audit log
of the session. Every answer is about that one person.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters
from mcp.client import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult, Implementation

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "fhir"
PLANS = [
    {
        "name": "Bronze HDHP",
        "premium": 310,
        "deductible": 6000,
        "coinsurance": 0.4,
        "out_of_pocket_max": 8500,
    },
    {
        "name": "Gold PPO",
        "premium": 560,
        "deductible": 1000,
        "coinsurance": 0.2,
        "out_of_pocket_max": 4000,
        "copays": {"primary_care": 25, "specialist": 50},
    },
]
CALLS = [
    ("What do my glucose results look like?", "list_labs", {"test": "glucose", "limit": 5}),
    ("Anything outside its range lately?", "list_labs", {"abnormal_only": True, "limit": 5}),
    ("What am I taking?", "get_meds", {}),
    (
        "What did my insurance pay, and which plan would cost me less?",
        "explain_coverage",
        {"plans": PLANS},
    ),
    ("How is my weight trending?", "summarize_trends", {"metric": "body_weight"}),
    ("How is my blood pressure trending?", "summarize_trends", {"metric": "blood_pressure"}),
    ("What conditions are on my record?", "list_conditions", {}),
    ("Give me an overview.", "health_summary", {}),
]


def healthlocker(*args: str, env: dict[str, str]) -> None:
    print(f"$ healthlocker {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "healthlocker.cli", *args], env=env, check=True)


async def consent(ctx: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
    """Stands in for the person at the consent prompt: allow this demo for one hour."""
    message = getattr(params, "message", "")
    print(f"\n[consent prompt] {message}\n[the demo answers] for 1 hour, all records")
    return ElicitResult(action="accept", content={"allow": "for 1 hour", "records": "all records"})


async def session(env: dict[str, str]) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "healthlocker.cli", "serve"], env=env
    )
    info = Implementation(name="healthlocker-demo", version="1")
    async with Client(params, client_info=info, elicitation_callback=consent) as client:
        tools = (await client.list_tools()).tools
        print(
            f"\nConnected over stdio ({client.protocol_version}); "
            f"{len(tools)} tools: {', '.join(t.name for t in tools)}"
        )
        for question, tool, args in CALLS:
            result = await client.call_tool(tool, args)
            print(f"\n>>> {question}  [{tool}]")
            text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
            print(textwrap.indent(text.strip(), "    "))
            if result.is_error:
                raise SystemExit(f"{tool} failed")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="healthlocker-demo-") as tmp:
        env = {
            **os.environ,
            "HEALTHLOCKER_HOME": str(Path(tmp) / "vault"),
            "HEALTHLOCKER_PASSPHRASE": "demo passphrase, not a real one",
        }
        # One person, so every answer is about one person: the samples hold six Synthea
        # patients and other, unrelated people (Blue Button, C-CDA, Apple Health...).
        person = (
            SAMPLES / "synthea" / "Adalberto_Hartmann_44ec4447-9e2c-4eb9-bd4f-0bdb416b806e.json"
        )
        print("One synthetic person's records: the EHR export of Adalberto Hartmann (Synthea).")
        healthlocker("init", env=env)
        healthlocker("import", str(person), "--source", "sample-ehr", env=env)
        anyio.run(session, env)
        healthlocker("grants", env=env)
        healthlocker("audit", env=env)
        healthlocker("audit", "--verify", env=env)
        print("\nDone; the throwaway vault is deleted.")


if __name__ == "__main__":
    main()
