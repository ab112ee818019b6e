"""OpenTelemetry traces, when its standard variables ask for them (`Settings.tracing`) and the `otel` extra is installed.

With the variables set but the packages missing, the start logs one warning and the
service runs without traces. The packages are imported only then (`otel.py`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from service.settings import Settings

if TYPE_CHECKING:
    from service.observability.otel import Tracing

log = logging.getLogger(__name__)


def start_tracing(settings: Settings, provider: Any = None) -> Tracing | None:
    """Traces as the environment configures them, or with `provider` (a tracer provider of the caller's), or none."""
    if provider is None and not settings.tracing:
        return None
    try:
        from service.observability.otel import Tracing, configured_provider
    except ImportError as missing:
        log.warning("OpenTelemetry variables ask for traces, but its packages are not installed (%s); "
                    "install cx360 with the `otel` extra: pip install 'cx360[otel]'. Running without traces.", missing)
        return None
    if provider is not None:
        return Tracing(provider, owned=False)
    configured = configured_provider()
    return Tracing(configured, owned=True) if configured is not None else None
