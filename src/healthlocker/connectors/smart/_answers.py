"""What a FHIR server answers: JSON within limits, and refusals put into words.

JSON is capped in nesting (``MAX_DEPTH``): a deeper answer is a clear :class:`SyncError`, never
a ``RecursionError``. A refusal's words come from its OperationOutcome, printable, capped in
length, with the bearer token and the patient id masked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx2

from healthlocker.errors import SyncError

MAX_DEPTH = 100  # JSON nesting; FHIR resources stay far below it
_REASON_CHARS = 200


def parse_json(content: bytes, label: str) -> Any:
    """JSON from a server, nested at most ``MAX_DEPTH`` levels; SyncError otherwise."""
    try:
        doc = json.loads(content)
    except RecursionError:
        doc = None
        deep = True
    except ValueError:
        raise SyncError(f"{label}: the server's answer is not JSON") from None
    else:
        deep = _deeper_than(doc, MAX_DEPTH)
    if deep:
        raise SyncError(f"{label}: the server's answer is nested over {MAX_DEPTH} levels deep")
    return doc


def _deeper_than(doc: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(doc, 1)] if isinstance(doc, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx2.Headers
    content: bytes


@dataclass(frozen=True)
class Refusal:
    """A server's refusal of one request: its status and why, as far as it said."""

    status: int
    why: str

    @classmethod
    def of(cls, answer: Answer, redact: tuple[str, ...]) -> Refusal:
        return cls(answer.status, refusal_reason(answer, redact))


def refusal_reason(answer: Answer, redact: tuple[str, ...]) -> str:
    """``HTTP 400: required: Must have either code or category.`` — the status and the
    OperationOutcome's words, printable, capped, with the token and patient id masked."""
    said: list[str] = []
    try:
        doc = parse_json(answer.content, "refusal") if answer.content else None
    except SyncError:
        doc = None
    if isinstance(doc, dict) and doc.get("resourceType") == "OperationOutcome":
        issues = doc.get("issue")
        first = issues[0] if isinstance(issues, list) and issues else {}
        if isinstance(first, dict):
            details = first.get("details")
            for value in (
                first.get("code"),
                details.get("text") if isinstance(details, dict) else None,
                first.get("diagnostics"),
            ):
                if isinstance(value, str) and value.strip() and value.strip() not in said:
                    said.append(value.strip())
    text = ": ".join([said[0], " ".join(said[1:])] if len(said) > 1 else said)
    text = "".join(c if c.isprintable() else " " for c in text)
    for secret in redact:
        if secret:
            text = text.replace(secret, "…")
    text = " ".join(text.split())
    if len(text) > _REASON_CHARS:
        text = text[: _REASON_CHARS - 1] + "…"
    return f"HTTP {answer.status}" + (f": {text}" if text else "")
