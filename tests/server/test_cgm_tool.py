"""summarize_trends(metric="glucose") through the SDK's real client: a CGM's consensus metrics
in the structure and the text, computed straight from the sample file in the test."""

from __future__ import annotations

import pytest
from mcp import Client

from connectors.cgm_helpers import DEXCOM_MG, ZONES, expected, read_export
from healthlocker.connectors import import_paths
from healthlocker.consent import OpenGate
from healthlocker.server import build_server
from healthlocker.store import Vault


@pytest.mark.anyio
async def test_the_glucose_trend_answers_with_the_consensus_metrics(vault: Vault) -> None:
    assert import_paths(vault, [DEXCOM_MG], time_zone=ZONES[DEXCOM_MG]).ok
    unit, rows = read_export(DEXCOM_MG)
    want = expected(unit, [r.value for r in rows])
    async with Client(build_server(vault, gate=OpenGate())) as client:
        result = await client.call_tool("summarize_trends", {"metric": "glucose"})
    assert not result.is_error, result.content
    cgm = result.structured_content["cgm"]  # type: ignore[index]
    assert cgm["ranges"] == want.ranges
    assert cgm["mean_mg_dl"] == pytest.approx(want.mean_mg_dl, abs=0.005)
    assert cgm["readings"] == len(rows) and cgm["interval_minutes"] == 5
    assert cgm["targets"]["in_range_over"] == 70
    text = result.content[0].text  # type: ignore[union-attr]
    assert f"time in range 70–180 mg/dL {want.ranges['in_range']:.1f}%" in text
    assert f"(below 54 {want.ranges['very_low']:.1f}%)" in text
