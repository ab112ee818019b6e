"""Product's events: usage, adoption, incidents and status statements."""

from domain.event_type import EventType, catalogue_of
from domain.fields import Choice, Id, Integer, Text, Timestamp

INCIDENT_SEVERITIES = ("sev1", "sev2", "sev3")
STATUS_IMPACTS = ("none", "degraded", "outage")

TYPES = catalogue_of(
    EventType(
        "product.usage.recorded",
        {
            "activeUsers": Integer(required=True, minimum=0),
            "seats": Integer(required=True, minimum=0),
            "periodEnd": Timestamp(date_allowed=True),
        },
    ),
    EventType("product.feature.adopted", {"feature": Text(required=True)}),
    EventType(
        "product.incident.started",
        {"incidentId": Id(required=True), "severity": Choice(required=True, options=INCIDENT_SEVERITIES)},
    ),
    EventType("product.incident.resolved", {"incidentId": Id(required=True)}),
    EventType(
        "product.status.published",
        {"incidentId": Id(required=True), "impact": Choice(required=True, options=STATUS_IMPACTS), "message": Text()},
    ),
)
