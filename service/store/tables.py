"""The store's tables, which the read side and the projection read by name."""

APPLICATION = "cx360"  # the store library names the events table, and the log projections track, after it
EVENTS_TABLE = f"{APPLICATION}_events"
ACCOUNTS_TABLE = f"{APPLICATION}_accounts"  # one row per account: its stream's version, name and counts
HANDLING_APPLICATION = f"{APPLICATION}_handling"  # findings' handling: an application (and events table) of its own
HANDLING_TABLE = HANDLING_APPLICATION  # one row per handled finding: its state, assignee and actions
PROVIDER_ACCOUNTS_TABLE = f"{APPLICATION}_provider_accounts"  # a webhook provider's customer id -> account id
PARKED_TABLE = f"{APPLICATION}_webhook_parked"  # webhook events not stored yet (unmapped customer), with why
HUBSPOT_DEAL_VALUES_TABLE = f"{APPLICATION}_hubspot_deal_values"  # a HubSpot deal's amount and currency changes
HUBSPOT_DEAL_COMPANIES_TABLE = f"{APPLICATION}_hubspot_deal_companies"  # a HubSpot deal's companies, latest change
