"""The webhooks' Prometheus counters, per provider, on the application's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from service.webhooks import PROVIDERS

OUTCOMES = ("received", "stored", "duplicate", "ignored", "parked", "noted", "replayed")
REFUSALS = ("signature", "not_configured", "bad_payload")


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.events = Counter(
            "cx360_webhook_events",
            "Provider events by outcome: received (each catalogue event, or ignored kind, a verified request yields), stored, duplicate (a retry), "
            "ignored (a kind the catalogue has nothing for), parked, noted (kept for later events: a HubSpot deal's amount, "
            "currency or company), replayed (stored once its customer was mapped, or its won deal's amount came).",
            ["provider", "outcome"], registry=registry)
        self.refused = Counter(
            "cx360_webhook_refused",
            "Webhook requests refused whole: a wrong or stale signature, no secret set, a body not of the provider's format.",
            ["provider", "reason"], registry=registry)
        for provider in PROVIDERS:  # every series exists from the start, at 0
            for outcome in OUTCOMES:
                self.events.labels(provider, outcome)
            for reason in REFUSALS:
                self.refused.labels(provider, reason)

    def count(self, provider: str, outcome: str, amount: int = 1) -> None:
        if amount:
            self.events.labels(provider, outcome).inc(amount)

    def refuse(self, provider: str, reason: str) -> None:
        self.refused.labels(provider, reason).inc()
