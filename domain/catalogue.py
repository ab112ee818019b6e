"""The event catalogue v1 (`events.md`): every type producers may send, by name."""

from domain import billing, marketing, product, sales, support
from domain.event_type import EventType, catalogue_of

DEPARTMENTS = ("marketing", "sales", "product", "support", "billing")

CATALOGUE: dict[str, EventType] = catalogue_of(
    *marketing.TYPES.values(),
    *sales.TYPES.values(),
    *product.TYPES.values(),
    *support.TYPES.values(),
    *billing.TYPES.values(),
)

# Messages our side sent to the account (`events.md`, Outbound touches), in the catalogue's order.
OUTBOUND_TOUCHES = ("marketing.campaign.sent", "sales.outreach.sent", "support.contact.made", "billing.dunning.sent")
