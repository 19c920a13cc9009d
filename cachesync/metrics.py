"""The Prometheus endpoint every long-running worker serves (when ``metrics.port`` is set)."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

from schemas.config import MetricsConfig

log = logging.getLogger(__name__)


def serve_metrics(config: MetricsConfig) -> None:
    """Start the ``/metrics`` HTTP endpoint in a daemon thread; port 0 means disabled."""
    if config.port == 0:
        return
    start_http_server(config.port, addr=config.host)
    log.info("metrics on http://%s:%d/metrics", config.host, config.port)
