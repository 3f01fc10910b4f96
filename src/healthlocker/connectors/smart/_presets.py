"""Presets for common patient-access APIs, so a user types less (see docs/connect.md)."""

from __future__ import annotations

from dataclasses import dataclass

from healthlocker.errors import SyncError


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    fhir_base: str | None  # None: the user's organisation decides; --fhir-base is required
    scopes: tuple[str, ...] | None = None  # None: the default SMART v2 set
    client_id: str | None = None  # only for sandboxes that accept any client id
    needs_secret: bool = False
    notes: str = ""


_BLUE_BUTTON_SCOPES = (
    # CMS documents these (SMART v1 spelling) for Blue Button 2.0; `profile` adds demographics.
    "patient/Patient.read",
    "patient/Coverage.read",
    "patient/ExplanationOfBenefit.read",
    "profile",
)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "bluebutton-sandbox",
            "CMS Blue Button 2.0 (sandbox, synthetic Medicare beneficiaries)",
            "https://sandbox.bluebutton.cms.gov/v2/fhir",
            _BLUE_BUTTON_SCOPES,
            needs_secret=True,
            notes="register an app at the Blue Button 2.0 developer sandbox",
        ),
        Preset(
            "bluebutton",
            "CMS Blue Button 2.0 (production Medicare claims)",
            "https://api.bluebutton.cms.gov/v2/fhir",
            _BLUE_BUTTON_SCOPES,
            needs_secret=True,
            notes="needs production access approved by CMS",
        ),
        Preset(
            "smarthealthit",
            "SMART Health IT launcher sandbox (synthetic patients, any client id)",
            "https://launch.smarthealthit.org/v/r4/fhir",
            client_id="healthlocker",
        ),
        Preset(
            "epic-sandbox",
            "Epic on FHIR sandbox (patient access, R4)",
            "https://fhir.epic.com/interconnect-fhir-oauth/api/FHIR/R4",
            notes="client id from your app on Epic on FHIR (non-production)",
        ),
        Preset(
            "epic",
            "An Epic organisation's patient-access API (R4)",
            None,
            notes="--fhir-base from Epic's published R4 endpoint list for your organisation",
        ),
        Preset(
            "oracle-health-sandbox",
            "Oracle Health (Cerner) Millennium secure sandbox, patient persona (R4)",
            "https://fhir-myrecord.cerner.com/r4/ec2458f2-1e24-41c8-b71b-0e701af7583d",
            notes="client id from your app in Oracle Health's code console",
        ),
        Preset(
            "oracle-health",
            "An Oracle Health (Cerner) organisation's patient-access API (R4)",
            None,
            notes="--fhir-base is https://fhir-myrecord.cerner.com/r4/<tenant id>",
        ),
    )
}


def resolve_preset(
    name: str | None, fhir_base: str | None, client_id: str | None
) -> tuple[str, str, Preset | None]:
    """The base and client id to use, from the arguments and an optional preset."""
    preset = None
    if name is not None:
        preset = PRESETS.get(name)
        if preset is None:
            raise SyncError(f"no preset {name!r}; one of: {', '.join(PRESETS)}")
    base = fhir_base or (preset.fhir_base if preset else None)
    if not base:
        hint = f" ({preset.notes})" if preset and preset.notes else ""
        raise SyncError(f"give --fhir-base URL{hint}")
    client = client_id or (preset.client_id if preset else None)
    if not client:
        hint = f"; {preset.notes}" if preset and preset.notes else ""
        raise SyncError(f"give --client-id ID, the id of the app you registered{hint}")
    return base, client, preset
