"""Consent: the policy check every tool call passes, and the audit of each call."""

from healthlocker.consent._gate import AuditEvent, Decision, Gate, OpenGate, Outcome

__all__ = ["AuditEvent", "Decision", "Gate", "OpenGate", "Outcome"]
