"""Consent: grants, the policy check every tool call passes, and the audit of each call."""

from healthlocker.consent._audit import AuditLog, Entry, Problem
from healthlocker.consent._gate import AuditEvent, Decision, Gate, OpenGate, Outcome
from healthlocker.consent._grants import (
    ALL_TOOLS,
    CLIENT_RULE,
    Clock,
    Grant,
    GrantStore,
    check_client,
    clean_client,
    describe_window,
    parse_duration,
    window_for,
    window_start,
)
from healthlocker.consent._policy import ConsentGate, allowed, grant_command
from healthlocker.consent._verify import VaultReport, verify_vault

__all__ = [
    "ALL_TOOLS",
    "CLIENT_RULE",
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
    "VaultReport",
    "allowed",
    "check_client",
    "clean_client",
    "describe_window",
    "grant_command",
    "parse_duration",
    "verify_vault",
    "window_for",
    "window_start",
]
