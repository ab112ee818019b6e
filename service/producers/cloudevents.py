"""CloudEvents 1.0 read with the official SDK (`cloudevents.core`) and mapped onto the envelope.

| CloudEvents | envelope |
|---|---|
| id, source, type | id, source, type (a catalogue type) |
| time | occurredAt (required here, though optional in CloudEvents) |
| subject | accountId (required) |
| extension contactid, actor | contactId, actor |
| data (JSON) | data |

The SDK checks the attributes (specversion 1.0, id, source and type present, extension
names); our validation checks the rest, as for `recordEvents`, and its faults are named
with the CloudEvents attribute (`subject`, `time`). `data` is read with the endpoint's own
JSON reader, so amounts stay exact decimals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.exceptions import BaseCloudEventException, CloudEventValidationError
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from domain.fields import Invalid, json_type, parse_rfc3339
from service.exact_json import loads
from service.producers.envelopes import Item

SPECVERSION = "1.0"
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
NAMES = {"accountId": "subject", "occurredAt": "time", "contactId": "contactid"}  # envelope -> CloudEvents
REQUIRED = ("specversion", "id", "source", "type")  # checked before the SDK, which makes up a missing id and time


def missing(item: Item, given: Any) -> bool:
    """Record each required attribute missing; whether any was. (The SDK would give an event without an id a
    random one, which would make every resend a new event: the idempotency key must be the producer's.)"""
    for name in REQUIRED:
        if name not in given:
            item.faults[name] = "is required"
    return bool(item.faults)


class ExactJSONFormat(JSONFormat):
    """The SDK's JSON format, reading a binary-mode body with our reader (exact decimals)."""

    def read_data(self, body: bytes, datacontenttype: str | None) -> dict[str, Any] | str | bytes | None:
        if body and (datacontenttype is None or self.JSON_CONTENT_TYPE_PATTERN.match(datacontenttype)):
            try:
                value = loads(body)
            except (ValueError, RecursionError):
                return super().read_data(body, datacontenttype)  # as the SDK has it: text, refused as data below
            data: dict[str, Any] | str | bytes | None = value  # anything but an object is refused by validation
            return data
        return super().read_data(body, datacontenttype)


def structured_item(label: int, value: Any) -> Item:
    """One event of a structured body, or of a batch: a JSON object with attributes and `data`."""
    item = Item(label, names=dict(NAMES))
    if not isinstance(value, dict):
        item.faults["event"] = f"must be a JSON object (a CloudEvent), not {json_type(value)}"
        return item
    attributes = dict(value)
    item.event_id = attributes.get("id") if isinstance(attributes.get("id"), str) else None
    if missing(item, attributes):
        return item
    data = attributes.pop("data", None)
    if "data_base64" in attributes:
        item.faults["data_base64"] = "binary data is not taken: send data as a JSON object"
        return item
    time_text = attributes.get("time")
    if isinstance(time_text, str):
        try:
            attributes["time"] = parse_rfc3339(time_text)
        except Invalid as invalid:
            item.faults["time"] = str(invalid)
            return item
    elif "time" in attributes:
        item.faults["time"] = f"must be an RFC 3339 date-time string, not {json_type(time_text)}"
        return item
    return mapped(item, lambda: CloudEvent(attributes, data), time_text)


def binary_item(headers: Mapping[str, str], body: bytes) -> Item:
    """The one event of a binary-mode request: attributes in `ce-*` headers, data in the body."""
    item = Item(0, names=dict(NAMES))
    item.event_id = headers.get("ce-id")
    if missing(item, {name[3:] for name in headers if name.lower().startswith("ce-")}):
        return item
    time_text = headers.get("ce-time")
    if time_text is not None:
        try:
            parse_rfc3339(time_text)
        except Invalid as invalid:
            item.faults["time"] = str(invalid)
            return item
    message = ce_http.HTTPMessage(headers={name.lower(): value for name, value in headers.items()
                                           if name.lower().startswith("ce-") or name.lower() == "content-type"},
                                  body=body)
    return mapped(item, lambda: ce_http.from_binary(message, ExactJSONFormat(), CloudEvent), time_text)


def mapped(item: Item, build: Any, time_text: str | None) -> Item:
    """The item with the envelope of the event `build` makes with the SDK, or the SDK's faults."""
    try:
        event: BaseCloudEvent = build()
    except CloudEventValidationError as invalid:
        for attribute, errors in invalid.errors.items():
            item.faults[attribute] = "; ".join(str(error) for error in errors)
        return item
    except (BaseCloudEventException, ValueError) as invalid:
        item.faults["event"] = str(invalid)
        return item
    if event.get_specversion() != SPECVERSION:
        item.faults["specversion"] = f"must be {SPECVERSION} (got {event.get_specversion()!r:.20})"
        return item
    item.envelope = {
        "id": event.get_id(),
        "source": event.get_source(),
        "type": event.get_type(),
        "accountId": event.get_subject(),
        "occurredAt": time_text,
        "contactId": event.get_extension("contactid"),
        "actor": event.get_extension("actor"),
        "data": event.get_data(),
    }
    return item


def reason(field: str, message: str) -> str:
    """Our validation's reason, said in CloudEvents terms where the envelope's name would puzzle."""
    if field == "accountId" and message == "is required":
        return "is required: the subject carries the account id"
    if field == "occurredAt" and message == "is required":
        return "is required: time carries when the event occurred"
    return message
