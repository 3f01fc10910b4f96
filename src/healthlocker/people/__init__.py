"""People: whom a vault's records are about.

The vault has an owner; a Patient from a new file is placed with the person whose name, birth
date, sex or identifiers agree (``_who``), at import and in the same transaction (``_place``);
``People`` (``_people``) reads and edits who is who, kept in the store's sealed ``people``
table. Records read who is who through ``People.of(reader)``; never pooled, one person at a
time (``records.Scope``). The rule, and where it stops: docs/people.md.

Imports only ``store``: ``connectors`` (placing at import) and ``records`` (the consent scope)
both build on it.
"""

from healthlocker.people._people import OWNER, People, Person
from healthlocker.people._place import Placed, Placement, check_choice
from healthlocker.people._refs import patient_of, ref_id
from healthlocker.people._who import Demographics, verdict

__all__ = [
    "OWNER",
    "Demographics",
    "People",
    "Person",
    "Placed",
    "Placement",
    "check_choice",
    "patient_of",
    "ref_id",
    "verdict",
]
