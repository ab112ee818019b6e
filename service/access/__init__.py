"""Who may call the API: API keys and their scopes, the loopback default, rate limits per key."""
