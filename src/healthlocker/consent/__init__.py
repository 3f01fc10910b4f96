"""Consent: grants, the policy check every tool call passes, and the audit of each call."""

from healthlocker.consent._audit import AuditLog, Entry, Problem
from healthlocker.consent._gate import AuditEvent, Decision, Gate, OpenGate, Outcome
from healthlocker.consent._grants import (
    ALL_TOOLS,
    Clock,
    Grant,
    GrantStore,
    describe_window,
    parse_duration,
    window_for,
    window_start,
)
from healthlocker.consent._policy import ConsentGate, allowed, grant_command

__all__ = [
    "ALL_TOOLS",
    "AuditEvent",
    "AuditLog",
    "Clock",
    "ConsentGate",
    "Decision",
    "Entry",
    "Gate",
    "Grant",
    "GrantStore",
    "OpenGate",
    "Outcome",
    "Problem",
    "allowed",
    "describe_window",
    "grant_command",
    "parse_duration",
    "window_for",
    "window_start",
]
