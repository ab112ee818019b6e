"""The inconsistency rules of `rules.md`, one module each, named after the rule's id."""

from projections.rules import (
    abrupt_suspension,
    collections_during_payment_plan,
    collections_during_supportive_messaging,
    contact_after_opt_out,
    contact_pressure,
    ignored_detractor,
    incident_denial,
    invoice_exceeds_deal,
    prospecting_a_customer,
    sales_pressure_during_escalation,
    upsell_to_detractor,
)
from projections.rules.rule import Rule

RULES: dict[str, Rule] = {
    module.RULE.id: module.RULE
    for module in (
        sales_pressure_during_escalation,
        collections_during_supportive_messaging,
        upsell_to_detractor,
        ignored_detractor,
        contact_after_opt_out,
        contact_pressure,
        collections_during_payment_plan,
        prospecting_a_customer,
        incident_denial,
        invoice_exceeds_deal,
        abrupt_suspension,
    )
}
