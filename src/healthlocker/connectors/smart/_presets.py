"""Presets for common patient-access APIs, so a user types less and the sync asks each API the
way it must be asked. What each records, and the public sources, are in docs/connect.md."""

from __future__ import annotations

from dataclasses import dataclass, field

from healthlocker.connectors.smart._recipes import US_CORE_CATEGORIES, Rules
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
    rules: Rules = field(default_factory=Rules)


_BLUE_BUTTON_SCOPES = (
    # CMS documents these (SMART v1 spelling) for Blue Button 2.0; `profile` adds demographics.
    "patient/Patient.read",
    "patient/Coverage.read",
    "patient/ExplanationOfBenefit.read",
    "profile",
)

# SMART v1 patient scopes, for APIs whose published scope lists use that spelling.
_V1_PATIENT = ("launch/patient", "patient/*.read", "offline_access")

# Epic refuses an Observation search without a category or code ("Must have either code or
# category.") and a CarePlan search without a category (its message lists these six codes);
# it offers patients no $everything. Besides US Core's categories Epic documents
# Observation searches for core characteristics and SmartData elements.
EPIC_RULES = Rules(
    by_category={
        "Observation": (*US_CORE_CATEGORIES["Observation"], "core-characteristics", "smartdata"),
        "CarePlan": ("38717003", "734163000", "736271009", "736353004", "738906000", "736378000"),
    },
    everything=False,
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
            rules=EPIC_RULES,
        ),
        Preset(
            "epic",
            "An Epic organisation's patient-access API (R4)",
            None,
            notes="--fhir-base from Epic's published R4 endpoint list for your organisation",
            rules=EPIC_RULES,
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
        Preset(
            "athenahealth-preview",
            "athenahealth (athenaOne) preview environment (R4)",
            "https://api.preview.platform.athenahealth.com/fhir/r4",
            _V1_PATIENT,
            notes="client id from your app on athenahealth's developer portal (preview)",
        ),
        Preset(
            "athenahealth",
            "athenahealth (athenaOne) patient access (R4)",
            "https://api.platform.athenahealth.com/fhir/r4",
            _V1_PATIENT,
            notes="client id from your app on athenahealth's developer portal",
        ),
        Preset(
            "eclinicalworks",
            "An eClinicalWorks practice's patient-access API (R4, via healow)",
            None,
            _V1_PATIENT,
            notes="--fhir-base is https://fhir4.eclinicalworks.com/fhir/r4/<practice code>, "
            "from eClinicalWorks' published endpoint list",
        ),
        Preset(
            "meditech",
            "A MEDITECH Expanse organisation's patient-access API (R4)",
            None,
            notes="--fhir-base from your organisation's published patient-access endpoint",
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
