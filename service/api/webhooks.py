"""The webhooks' admin fields: map a provider's customer to an account (replaying its parked events),
remove a mapping, list the mappings and the parked events. Each needs the `admin` scope."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Optional

import strawberry

from service.access.scopes import ADMIN
from service.api.context import Info
from service.api.errors import BadInput, ServiceUnavailable
from service.api.paging import page_size
from service.api.permissions import needs
from service.api.scalars import JSON
from service.store.event_store import StoreUnavailable
from service.webhooks import accounts, parked
from service.webhooks.accounts import MappingError
from service.webhooks.intake import Webhooks


@strawberry.enum(description="A provider whose webhooks cx360 takes (docs/webhooks.md).")
class WebhookProvider(Enum):
    STRIPE = "stripe"
    ZENDESK = "zendesk"
    HUBSPOT = "hubspot"


@strawberry.type(description="A provider's customer, organisation or company id, and the account it is.")
class ProviderMapping:
    provider: WebhookProvider = strawberry.field(description="The provider.")
    external_id: str = strawberry.field(description="The provider's id: a Stripe customer (cus_…), a Zendesk "
                                        "organisation id, a HubSpot `company:<id>` or `deal:<id>`.")
    account_id: strawberry.ID = strawberry.field(description="The account its events are recorded on.")
    mapped_at: datetime = strawberry.field(description="When the mapping was last set.")

    @staticmethod
    def from_row(row: accounts.Mapping) -> ProviderMapping:
        return ProviderMapping(provider=WebhookProvider(row.provider), external_id=row.external_id,
                               account_id=strawberry.ID(row.account_id), mapped_at=row.mapped_at)


@strawberry.type(description="The mapping set, and what became of the customer's parked events, replayed now.")
class MapProviderCustomerPayload:
    mapping: ProviderMapping = strawberry.field(description="The mapping as it now stands.")
    replayed: int = strawberry.field(description="Parked events stored now.")
    duplicates: int = strawberry.field(description="Parked events found stored already (replayed before).")
    still_parked: int = strawberry.field(description="Replayed events the catalogue rejected: they stay parked, "
                                         "with the rejection as their reason.")


@strawberry.type(description="A provider's event not stored (yet), and why.")
class ParkedWebhook:
    id: strawberry.ID = strawberry.field(description="The parked row's id.")
    provider: WebhookProvider = strawberry.field(description="The provider that sent it.")
    event_id: str = strawberry.field(description="The catalogue event's id (derived from the provider's event id).")
    external_id: Optional[str] = strawberry.field(description="The provider's customer id, when the payload has one.")
    cause: str = strawberry.field(description="unmapped (replayed once its customer is mapped), incomplete (a later "
                                  "delivery brings what it lacks, such as a HubSpot deal's amount), unusable (the "
                                  "payload lacks what the mapping needs) or rejected (validation refused it).")
    reason: str = strawberry.field(description="Why it is not stored, and what stores it.")
    parked_at: datetime = strawberry.field(description="When it was first received.")
    replayed_at: Optional[datetime] = strawberry.field(description="When it was stored, once mapped.")
    account_id: Optional[strawberry.ID] = strawberry.field(description="The account it was stored on (or refused "
                                                           "for), once mapped.")
    payload: JSON = strawberry.field(description="The provider's event as it came.")

    @staticmethod
    def from_row(row: parked.Parked) -> ParkedWebhook:
        return ParkedWebhook(
            id=strawberry.ID(str(row.id)), provider=WebhookProvider(row.provider), event_id=row.event_id,
            external_id=row.external_id, cause=row.cause, reason=row.reason, parked_at=row.parked_at,
            replayed_at=row.replayed_at, account_id=strawberry.ID(row.account_id) if row.account_id else None,
            payload=row.payload)


def webhooks_of(info: Info) -> Webhooks:
    if info.context.webhooks is None:
        raise ServiceUnavailable("webhooks are not open in this process")
    return info.context.webhooks


@strawberry.type(description="The webhooks' admin queries.")
class WebhookQuery:
    @strawberry.field(description="Webhook events parked: not stored (yet), the most recent first.",
                      extensions=needs(ADMIN))
    async def parked_webhooks(
        self, info: Info,
        provider: Annotated[Optional[WebhookProvider], strawberry.argument(description="Only this provider's.")] = None,
        include_replayed: Annotated[bool, strawberry.argument(description="Also those stored since, once mapped.")] = False,
        first: Annotated[Optional[int], strawberry.argument(description="How many, at most the configured page size.")] = None,
    ) -> list[ParkedWebhook]:
        limit = page_size(first, info.context.settings.max_page_size)
        rows = await parked.listed(webhooks_of(info).pool, provider.value if provider else None, include_replayed, limit)
        return [ParkedWebhook.from_row(row) for row in rows]

    @strawberry.field(description="The providers' customers mapped to accounts.", extensions=needs(ADMIN))
    async def provider_mappings(
        self, info: Info,
        provider: Annotated[Optional[WebhookProvider], strawberry.argument(description="Only this provider's.")] = None,
        first: Annotated[Optional[int], strawberry.argument(description="How many, at most the configured page size.")] = None,
    ) -> list[ProviderMapping]:
        limit = page_size(first, info.context.settings.max_page_size)
        rows = await accounts.mappings(webhooks_of(info).pool, provider.value if provider else None, limit)
        return [ProviderMapping.from_row(row) for row in rows]


@strawberry.type(description="The webhooks' admin mutations.")
class WebhookMutation:
    @strawberry.mutation(description="Map a provider's customer to an account, then store its parked events "
                         "(each once, however often this is called).", extensions=needs(ADMIN))
    async def map_provider_customer(
        self, info: Info, provider: WebhookProvider,
        external_id: Annotated[str, strawberry.argument(description="The provider's id, as `parkedWebhooks` shows it.")],
        account_id: Annotated[strawberry.ID, strawberry.argument(description="The account, in the tenant's own id space.")],
        new_account: Annotated[bool, strawberry.argument(description="The account is new: no event names it yet. "
                                                         "Without it, an account no event names is refused (a typo "
                                                         "would file the customer's events on a phantom account).")] = False,
    ) -> MapProviderCustomerPayload:
        try:
            mapping, taken = await webhooks_of(info).map(provider.value, external_id, str(account_id), new_account)
        except MappingError as bad:
            argument, _, reason = str(bad).partition(": ")
            raise BadInput(argument, reason) from None
        except StoreUnavailable as failure:
            raise ServiceUnavailable(f"the mapping is set, its parked events are not all stored: {failure}") from None
        return MapProviderCustomerPayload(mapping=ProviderMapping.from_row(mapping), replayed=taken.stored,
                                          duplicates=taken.duplicates, still_parked=taken.parked)

    @strawberry.mutation(description="Remove a mapping: the customer's next events are parked. Returns whether "
                         "there was one. Events stored under it stay with their account.", extensions=needs(ADMIN))
    async def remove_provider_mapping(self, info: Info, provider: WebhookProvider, external_id: str) -> bool:
        try:
            return await accounts.remove_mapping(webhooks_of(info).pool, provider.value, external_id)
        except MappingError as bad:
            argument, _, reason = str(bad).partition(": ")
            raise BadInput(argument, reason) from None
