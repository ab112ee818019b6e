"""The service's settings, read once from the environment at start.

Every variable is documented in docs/operations.md. A bad value stops the service at start
with a message naming the variable and the reason.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from limits import parse_many

from domain.handling_policy import DEFAULT_POLICY, HandlingPolicy, HandlingPolicyError, policy_from
from domain.validation import Limits
from projections.attribution.settings import (
    DEFAULT_ATTRIBUTION,
    AttributionSettingError,
    AttributionSettings,
    attribution_settings_from,
)
from projections.thresholds import (
    DEFAULT_THRESHOLDS,
    ThresholdError,
    Thresholds,
    thresholds_from,
)
from projections.view.health import (
    DEFAULT_WEIGHTS,
    HealthWeightError,
    HealthWeights,
    weights_from,
)


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class QueryLimits:
    """What one GraphQL document may ask for (service/api/limits.py enforces them)."""

    max_depth: int = 12
    max_aliases: int = 30
    max_cost: int = 100_000
    max_tokens: int = 50_000
    max_length: int = 1_000_000  # characters of query text: graphql-core parses about 2 MB a second
    introspection: bool = True  # GraphiQL needs it; switch it off in production


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    data_dir: Path = Path(".cx360")
    host: str = "127.0.0.1"
    port: int = 8000
    max_batch_events: int = 1000
    max_body_bytes: int = 8 * 1024 * 1024
    max_page_size: int = 100
    db_pool_size: int = 10
    limits: Limits = field(default_factory=Limits)
    query_limits: QueryLimits = field(default_factory=QueryLimits)
    thresholds: Thresholds = field(default_factory=lambda: DEFAULT_THRESHOLDS)
    handling: HandlingPolicy = DEFAULT_POLICY  # findings' owners and deadlines to acknowledge
    projector_poll_seconds: float = 1.0
    projector_batch_events: int = 1000
    projector_cache_accounts: int = 10_000  # accounts whose folded state the projector keeps in memory
    projector: str = "process"  # process | thread | off
    health_weights: HealthWeights = DEFAULT_WEIGHTS
    attribution: AttributionSettings = DEFAULT_ATTRIBUTION
    view_delay_seconds: float = 2.0
    attribution_relearn_seconds: float = 60.0  # the data-driven model's running month is learnt again this often
    subscriber_buffer: int = 1000  # messages a subscriber may leave unread before it is cut off
    connection_buffer_bytes: int = 16 * 1024 * 1024  # bytes all the subscriptions of a connection may hold unsent
    subscriber_ping_seconds: float = 15.0  # graphql-transport-ws keep-alive pings
    write_timeout_seconds: float = 5.0  # a batch is stored, or said not to be, within this
    read_timeout_seconds: float = 1.0  # the longest a read waits to open a database connection
    query_timeout_seconds: float = 30.0  # the longest one read of the API's pool runs before it is cancelled
    log_format: str = "text"  # text | json
    ready_max_lag_events: int = 10_000  # /readyz fails when the projection is further behind (0: no limit)
    ready_max_lag_seconds: int = 300  # nor when its oldest event not taken in waits longer (0: no limit)
    tracing: bool = False  # OpenTelemetry's standard variables ask for traces (see `traces_requested`)
    cors_origins: tuple[str, ...] = ()  # web origins whose pages may call the API; none: CORS is off
    rate_limit_reads: str = "200/second"  # per key (or loopback client), in the `limits` notation
    rate_limit_writes: str = "50/second"
    # webhooks' signing secrets (docs/webhooks.md); a provider whose secret is not set is refused with 503
    stripe_webhook_secret: str | None = field(default=None, repr=False)
    zendesk_webhook_secret: str | None = field(default=None, repr=False)
    hubspot_client_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        url = env.get("DATABASE_URL") or None
        if url is not None:
            connection_params(url)  # fail at start, naming the variable, rather than at first use
        rules_file = Path(env["CX360_RULES_FILE"]) if env.get("CX360_RULES_FILE") else None
        return cls(
            database_url=url,
            data_dir=Path(env.get("CX360_DATA_DIR") or cls.data_dir),
            host=env.get("CX360_HOST") or cls.host,
            port=integer(env, "CX360_PORT", cls.port, 1, 65535),
            max_batch_events=integer(env, "CX360_MAX_BATCH_EVENTS", cls.max_batch_events, 1, 100_000),
            max_body_bytes=integer(env, "CX360_MAX_BODY_BYTES", cls.max_body_bytes, 1024, 1024**3),
            max_page_size=integer(env, "CX360_MAX_PAGE_SIZE", cls.max_page_size, 1, 10_000),
            db_pool_size=integer(env, "CX360_DB_POOL_SIZE", cls.db_pool_size, 1, 1000),
            limits=Limits(
                max_string_length=integer(env, "CX360_MAX_STRING_LENGTH", Limits.max_string_length, 1, 10_000_000),
                max_data_depth=integer(env, "CX360_MAX_DATA_DEPTH", Limits.max_data_depth, 1, 100),
                max_data_keys=integer(env, "CX360_MAX_DATA_KEYS", Limits.max_data_keys, 1, 100_000),
            ),
            query_limits=QueryLimits(
                max_depth=integer(env, "CX360_MAX_QUERY_DEPTH", QueryLimits.max_depth, 1, 100),
                max_aliases=integer(env, "CX360_MAX_ALIASES", QueryLimits.max_aliases, 0, 10_000),
                max_cost=integer(env, "CX360_MAX_QUERY_COST", QueryLimits.max_cost, 1, 1_000_000_000),
                max_tokens=integer(env, "CX360_MAX_TOKENS", QueryLimits.max_tokens, 100, 10_000_000),
                max_length=integer(env, "CX360_MAX_QUERY_LENGTH", QueryLimits.max_length, 1_000, 100_000_000),
                introspection=choice(env, "CX360_INTROSPECTION", ("on", "off")) == "on",
            ),
            thresholds=read_thresholds(rules_file) if rules_file is not None else DEFAULT_THRESHOLDS,
            handling=read_policy(Path(env["CX360_HANDLING_FILE"])) if env.get("CX360_HANDLING_FILE") else DEFAULT_POLICY,
            projector_poll_seconds=integer(env, "CX360_PROJECTOR_POLL_MS", milliseconds(cls.projector_poll_seconds), 10, 600_000) / 1000,
            projector_batch_events=integer(env, "CX360_PROJECTOR_BATCH_EVENTS", cls.projector_batch_events, 1, 100_000),
            projector_cache_accounts=integer(env, "CX360_PROJECTOR_CACHE_ACCOUNTS", cls.projector_cache_accounts, 100,
                                             10_000_000),
            projector=choice(env, "CX360_PROJECTOR", ("process", "thread", "off")),
            view_delay_seconds=integer(env, "CX360_VIEW_DELAY_MS", milliseconds(cls.view_delay_seconds), 0, 3_600_000) / 1000,
            attribution_relearn_seconds=integer(env, "CX360_ATTRIBUTION_RELEARN_SECONDS",
                                                int(cls.attribution_relearn_seconds), 0, 86_400),
            subscriber_buffer=integer(env, "CX360_SUBSCRIBER_BUFFER", cls.subscriber_buffer, 1, 1_000_000),
            connection_buffer_bytes=integer(env, "CX360_CONNECTION_BUFFER_BYTES", cls.connection_buffer_bytes, 65_536, 2**32),
            subscriber_ping_seconds=integer(env, "CX360_SUBSCRIBER_PING_MS", milliseconds(cls.subscriber_ping_seconds), 100, 3_600_000) / 1000,
            write_timeout_seconds=integer(env, "CX360_WRITE_TIMEOUT_MS", milliseconds(cls.write_timeout_seconds), 100, 600_000) / 1000,
            read_timeout_seconds=integer(env, "CX360_READ_TIMEOUT_MS", milliseconds(cls.read_timeout_seconds), 10, 600_000) / 1000,
            query_timeout_seconds=integer(env, "CX360_QUERY_TIMEOUT_MS", milliseconds(cls.query_timeout_seconds), 100, 3_600_000) / 1000,
            health_weights=read_weights(Path(env["CX360_HEALTH_WEIGHTS_FILE"]))
            if env.get("CX360_HEALTH_WEIGHTS_FILE") else DEFAULT_WEIGHTS,
            attribution=read_attribution(Path(env["CX360_ATTRIBUTION_FILE"]))
            if env.get("CX360_ATTRIBUTION_FILE") else DEFAULT_ATTRIBUTION,
            log_format=choice(env, "CX360_LOG_FORMAT", ("text", "json")),
            ready_max_lag_events=integer(env, "CX360_READY_MAX_LAG_EVENTS", cls.ready_max_lag_events, 0, 10**12),
            ready_max_lag_seconds=integer(env, "CX360_READY_MAX_LAG_SECONDS", cls.ready_max_lag_seconds, 0, 10**9),
            tracing=traces_requested(env),
            cors_origins=origins(env, "CX360_CORS_ORIGINS"),
            rate_limit_reads=rate(env, "CX360_RATE_LIMIT_READS", cls.rate_limit_reads),
            rate_limit_writes=rate(env, "CX360_RATE_LIMIT_WRITES", cls.rate_limit_writes),
            stripe_webhook_secret=secret(env, "CX360_STRIPE_WEBHOOK_SECRET"),
            zendesk_webhook_secret=secret(env, "CX360_ZENDESK_WEBHOOK_SECRET"),
            hubspot_client_secret=secret(env, "CX360_HUBSPOT_CLIENT_SECRET"),
        )


def traces_requested(env: Mapping[str, str]) -> bool:
    """Whether OpenTelemetry's standard variables ask for traces: an OTLP endpoint, or a traces exporter
    other than `none`, and the SDK not disabled."""
    if (env.get("OTEL_SDK_DISABLED") or "").strip().lower() == "true":
        return False
    exporter = (env.get("OTEL_TRACES_EXPORTER") or "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def read_toml(path: Path, variable: str) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise SettingsError(f"{variable}: cannot read {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{variable}: {path} is not valid TOML: {error}") from None


def read_weights(path: Path) -> HealthWeights:
    """Health score weights from a TOML file of `name = weight` lines, over the defaults."""
    try:
        return weights_from(read_toml(path, "CX360_HEALTH_WEIGHTS_FILE"))
    except HealthWeightError as error:
        raise SettingsError(f"CX360_HEALTH_WEIGHTS_FILE: {path}: {error}") from None


def read_attribution(path: Path) -> AttributionSettings:
    """Attribution settings from a TOML file of `key = value` lines, over the defaults."""
    try:
        return attribution_settings_from(read_toml(path, "CX360_ATTRIBUTION_FILE"))
    except AttributionSettingError as error:
        raise SettingsError(f"CX360_ATTRIBUTION_FILE: {path}: {error}") from None


def read_thresholds(path: Path) -> Thresholds:
    """The rule thresholds of a TOML file (`[rule-id]` tables), over the spec's defaults."""
    table = read_toml(path, "CX360_RULES_FILE")
    try:
        return thresholds_from(table)
    except ThresholdError as error:
        raise SettingsError(f"CX360_RULES_FILE: {path}: {error}") from None


def read_policy(path: Path) -> HandlingPolicy:
    """Findings' owners per department and deadlines to acknowledge per severity, over the defaults."""
    try:
        return policy_from(read_toml(path, "CX360_HANDLING_FILE"))
    except HandlingPolicyError as error:
        raise SettingsError(f"CX360_HANDLING_FILE: {path}: {error}") from None


def choice(env: Mapping[str, str], name: str, options: tuple[str, ...]) -> str:
    """One of the options; the first is the default."""
    raw = env.get(name) or options[0]
    if raw not in options:
        raise SettingsError(f"{name} must be one of {', '.join(options)} (got {raw!r})")
    return raw


def integer(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer (got {raw!r})") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name} must be between {minimum} and {maximum} (got {value})")
    return value


def origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated web origins (`https://app.example.com`, with a port if not the default), or `*`."""
    found = tuple(each.strip() for each in (env.get(name) or "").split(",") if each.strip())
    for origin in found:
        parts = urlsplit(origin) if origin != "*" else None
        if parts is not None and (parts.scheme not in ("http", "https") or not parts.netloc or parts.path
                                  or parts.query or parts.fragment or "@" in parts.netloc):
            raise SettingsError(f"{name}: {origin!r} is not an origin like https://app.example.com or http://localhost:3000")
    return found


def rate(env: Mapping[str, str], name: str, default: str) -> str:
    """A rate limit such as `100/second`, `20 per minute` or `5000/hour`."""
    raw = env.get(name) or default
    try:
        parsed = parse_many(raw)
    except ValueError:
        parsed = []
    if len(parsed) != 1 or parsed[0].amount < 1:
        raise SettingsError(f"{name} must be one rate such as 100/second, 20 per minute or 5000/hour (got {raw!r})")
    return raw


def secret(env: Mapping[str, str], name: str) -> str | None:
    """A signing secret, or several separated by commas while one is rotated; None when not set.

    A secret with spaces around it is a copying mistake, and an empty one a stray comma."""
    raw = env.get(name) or None
    if raw is None:
        return None
    for place, each in enumerate(raw.split(","), start=1):
        where = name if "," not in raw else f"{name}, secret {place} of {raw.count(',') + 1}"
        if each != each.strip():
            raise SettingsError(f"{where} has spaces or a line break around it: copy the secret alone")
        if not each:
            raise SettingsError(f"{where} is empty: several secrets (while one is rotated) are separated by "
                                "single commas")
    return raw


def milliseconds(seconds: float) -> int:
    return round(seconds * 1000)


def connection_params(url: str) -> dict[str, str | int | None]:
    """Split a `postgresql://user:password@host:port/dbname?host=/socket/dir` URL into its parts."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SettingsError(f"DATABASE_URL must start with postgresql:// (got scheme {parts.scheme!r})")
    query = parse_qs(parts.query)
    try:
        port = parts.port
    except ValueError:
        raise SettingsError("DATABASE_URL has a port that is not a number") from None
    host = query.get("host", [parts.hostname or ""])[0] or None
    dbname = unquote(parts.path.lstrip("/")) or None
    if host is None or dbname is None:
        raise SettingsError("DATABASE_URL must name a host (or ?host=/socket/dir) and a database")
    return {
        "host": host,
        "port": port or int(query.get("port", ["5432"])[0]),
        "user": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "dbname": dbname,
    }
