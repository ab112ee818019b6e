"""Provider webhooks: payloads of Stripe, Zendesk and HubSpot in, catalogue events out.

A provider's request is checked by its signature (`signatures`), its payload turned into
catalogue events without their account (`stripe_events`, `zendesk_events`,
`hubspot_events`), each event given the account its provider's customer is mapped to
(`accounts`), and recorded through the same path as `recordEvents`; an event whose customer
is not mapped yet is parked (`parked`) and replayed when it is (`intake`).
"""

PATH_PREFIX = "/webhooks/"  # authenticated by the provider's signature, not by an API key
PROVIDERS = ("stripe", "zendesk", "hubspot")
# The webhooks' events are recorded under `webhook:<provider>`, with the provider's event id as their id. The
# prefix is reserved (`service.store.ingest`): recordEvents and POST /events refuse it, so no producer can take
# a delivery's key first and have the real delivery dropped as a duplicate.
SOURCE_PREFIX = "webhook:"
SOURCES = {provider: SOURCE_PREFIX + provider for provider in PROVIDERS}
