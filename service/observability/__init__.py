"""Operating the service: health and readiness, Prometheus metrics, request ids in logs, traces."""
