"""The main job on the bundled sample data: a real MCP client session against healthlocker.

Run it with ``scripts/demo``. In a throwaway folder (deleted at the end) it creates a vault,
imports one sample person's clinic C-CDA, Apple Health export, Medicare (Blue Button) claims and
MyFitnessPal diary with the ``healthlocker`` command (one person from four sources), then
starts ``healthlocker serve`` over stdio through the official MCP SDK client -- exactly as an
assistant spawns it from its MCP config -- calls each tool, answers the consent prompt the
first call of each tool raises (standing in for the person), and prints the answers, the
grants that made and the audit log of the session.
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
SAMPLES = ROOT / "samples"
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
    ("What do my hemoglobin results look like?", "list_labs", {"test": "hemoglobin"}),
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
        # One person's records from four sources (samples/newcomer agrees with Blue Button's
        # beneficiary): the answers are about one person.
        healthlocker("init", env=env)
        healthlocker("import", str(SAMPLES / "newcomer"), env=env)
        healthlocker("import", str(SAMPLES / "fhir" / "bluebutton"), env=env)
        healthlocker("import", str(SAMPLES / "myfitnesspal"), env=env)
        healthlocker("people", env=env)
        anyio.run(session, env)
        healthlocker("grants", env=env)
        healthlocker("audit", env=env)
        healthlocker("audit", "--verify", env=env)
        print("\nDone; the throwaway vault is deleted.")


if __name__ == "__main__":
    main()
