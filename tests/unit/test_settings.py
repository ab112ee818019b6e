"""Settings from the environment: defaults, and bad values named at start."""

import pytest

from service.settings import QueryLimits, Settings, SettingsError, connection_params


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.database_url is None and settings.port == 8000 and settings.max_batch_events == 1000


def test_values_are_read_from_the_environment() -> None:
    settings = Settings.from_env({"CX360_PORT": "9000", "CX360_MAX_BATCH_EVENTS": "50", "CX360_MAX_DATA_DEPTH": "4",
                                  "DATABASE_URL": "postgresql://u:p%40ss@db.example:6543/cx"})
    assert (settings.port, settings.max_batch_events, settings.limits.max_data_depth) == (9000, 50, 4)
    assert Settings.from_env({"CX360_CONNECTION_BUFFER_BYTES": "1048576"}).connection_buffer_bytes == 1_048_576
    assert Settings.from_env({"CX360_QUERY_TIMEOUT_MS": "2500"}).query_timeout_seconds == 2.5
    assert Settings.from_env({"CX360_PROJECTOR_CACHE_ACCOUNTS": "50000"}).projector_cache_accounts == 50_000
    assert Settings.from_env({"CX360_ATTRIBUTION_RELEARN_SECONDS": "300"}).attribution_relearn_seconds == 300
    assert Settings.from_env({}).attribution_relearn_seconds == 60
    assert connection_params(settings.database_url or "") == {"host": "db.example", "port": 6543, "user": "u", "password": "p@ss", "dbname": "cx"}


@pytest.mark.parametrize(
    ("environ", "named"),
    [({"CX360_PORT": "eighty"}, "CX360_PORT"), ({"CX360_PORT": "70000"}, "CX360_PORT"),
     ({"CX360_MAX_BATCH_EVENTS": "0"}, "CX360_MAX_BATCH_EVENTS"), ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
     ({"DATABASE_URL": "postgresql://host"}, "DATABASE_URL"),
     ({"CX360_CONNECTION_BUFFER_BYTES": "1000"}, "CX360_CONNECTION_BUFFER_BYTES"),
     ({"CX360_SUBSCRIBER_BUFFER": "many"}, "CX360_SUBSCRIBER_BUFFER"),
     ({"CX360_CORS_ORIGINS": "app.example.com"}, "CX360_CORS_ORIGINS"),
     ({"CX360_CORS_ORIGINS": "https://app.example.com/"}, "CX360_CORS_ORIGINS"),
     ({"CX360_CORS_ORIGINS": "ftp://app.example.com"}, "CX360_CORS_ORIGINS"),
     ({"CX360_RATE_LIMIT_READS": "100"}, "CX360_RATE_LIMIT_READS"),
     ({"CX360_RATE_LIMIT_READS": "0/second"}, "CX360_RATE_LIMIT_READS"),
     ({"CX360_RATE_LIMIT_WRITES": "1/second;5/minute"}, "CX360_RATE_LIMIT_WRITES"),
     ({"CX360_MAX_QUERY_DEPTH": "0"}, "CX360_MAX_QUERY_DEPTH"), ({"CX360_MAX_ALIASES": "-1"}, "CX360_MAX_ALIASES"),
     ({"CX360_MAX_QUERY_COST": "1e6"}, "CX360_MAX_QUERY_COST"), ({"CX360_MAX_TOKENS": "10"}, "CX360_MAX_TOKENS"),
     ({"CX360_MAX_QUERY_LENGTH": "big"}, "CX360_MAX_QUERY_LENGTH"), ({"CX360_INTROSPECTION": "false"}, "CX360_INTROSPECTION"),
     ({"CX360_QUERY_TIMEOUT_MS": "50"}, "CX360_QUERY_TIMEOUT_MS"), ({"CX360_QUERY_TIMEOUT_MS": "30s"}, "CX360_QUERY_TIMEOUT_MS"),
     ({"CX360_PROJECTOR_CACHE_ACCOUNTS": "10"}, "CX360_PROJECTOR_CACHE_ACCOUNTS"),
     ({"CX360_PROJECTOR_CACHE_ACCOUNTS": "1e5"}, "CX360_PROJECTOR_CACHE_ACCOUNTS"),
     ({"CX360_ATTRIBUTION_RELEARN_SECONDS": "-1"}, "CX360_ATTRIBUTION_RELEARN_SECONDS"),
     ({"CX360_ATTRIBUTION_RELEARN_SECONDS": "1m"}, "CX360_ATTRIBUTION_RELEARN_SECONDS")],
)
def test_a_bad_value_is_refused_naming_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(environ)


def test_cors_origins_and_rate_limits_are_read_from_the_environment() -> None:
    settings = Settings.from_env({"CX360_CORS_ORIGINS": "https://app.example.com, http://localhost:3000",
                                  "CX360_RATE_LIMIT_READS": "20 per minute", "CX360_RATE_LIMIT_WRITES": "5/second"})
    assert settings.cors_origins == ("https://app.example.com", "http://localhost:3000")
    assert (settings.rate_limit_reads, settings.rate_limit_writes) == ("20 per minute", "5/second")
    assert Settings.from_env({"CX360_CORS_ORIGINS": "*"}).cors_origins == ("*",)


def test_the_query_limits_are_read_from_the_environment() -> None:
    limits = Settings.from_env({"CX360_MAX_QUERY_DEPTH": "8", "CX360_MAX_ALIASES": "0", "CX360_MAX_QUERY_COST": "5000",
                                "CX360_MAX_TOKENS": "2000", "CX360_MAX_QUERY_LENGTH": "20000",
                                "CX360_INTROSPECTION": "off"}).query_limits
    assert limits == QueryLimits(max_depth=8, max_aliases=0, max_cost=5000, max_tokens=2000, max_length=20_000,
                                 introspection=False)
    assert Settings.from_env({}).query_limits == QueryLimits(12, 30, 100_000, 50_000, 1_000_000, True)


def test_a_unix_socket_url_is_understood() -> None:
    assert connection_params("postgresql://postgres:@/postgres?host=/tmp/pg")["host"] == "/tmp/pg"


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_a_webhook_secret_may_be_two_while_it_is_rotated() -> None:
    assert Settings.from_env({"CX360_STRIPE_WEBHOOK_SECRET": "whsec_new,whsec_old"}).stripe_webhook_secret == \
        "whsec_new,whsec_old"
    with pytest.raises(SettingsError, match="CX360_ZENDESK_WEBHOOK_SECRET, secret 2 of 3 is empty"):
        Settings.from_env({"CX360_ZENDESK_WEBHOOK_SECRET": "a,,b"})
    with pytest.raises(SettingsError, match="CX360_HUBSPOT_CLIENT_SECRET, secret 2 of 2 has spaces"):
        Settings.from_env({"CX360_HUBSPOT_CLIENT_SECRET": "a, b"})
    with pytest.raises(SettingsError, match="^CX360_HUBSPOT_CLIENT_SECRET has spaces"):
        Settings.from_env({"CX360_HUBSPOT_CLIENT_SECRET": "a\n"})
