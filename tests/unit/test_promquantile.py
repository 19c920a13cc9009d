"""Quantiles of Prometheus histograms (PromQL's histogram_quantile) and parsing a scrape."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.exposition import MetricsHandler

from cachesync.promquantile import (
    bucket_delta,
    counter_value,
    histogram_buckets,
    histogram_quantile,
    scrape,
)
from consumers.metrics import LatencyHistogram

INF = math.inf


@pytest.mark.parametrize(
    ("q", "buckets", "expected"),
    [
        # 100 observations spread evenly over (0, 0.1]: p50 is halfway through.
        (0.5, [(0.1, 100.0), (INF, 100.0)], 0.05),
        (0.99, [(0.1, 100.0), (INF, 100.0)], 0.099),
        # The rank falls in the second bucket: interpolate between its bounds.
        (0.5, [(0.01, 20.0), (0.02, 60.0), (0.05, 100.0), (INF, 100.0)], 0.0175),
        (0.99, [(0.01, 20.0), (0.02, 60.0), (0.05, 100.0), (INF, 100.0)], 0.04925),
        # Empty buckets before and inside are skipped.
        (0.5, [(0.001, 0.0), (0.01, 0.0), (0.1, 10.0), (INF, 10.0)], 0.055),
        # The rank is exactly a bucket's cumulative count: its upper bound.
        (0.5, [(1.0, 5.0), (2.0, 10.0), (INF, 10.0)], 1.0),
        # The rank lies in +Inf: the highest finite bound.
        (0.99, [(0.1, 50.0), (1.0, 90.0), (INF, 100.0)], 1.0),
        # Order of the input does not matter.
        (0.5, [(INF, 4.0), (2.0, 4.0), (1.0, 0.0)], 1.5),
        (0.0, [(1.0, 0.0), (2.0, 4.0), (INF, 4.0)], 1.0),
        (1.0, [(1.0, 0.0), (2.0, 4.0), (INF, 4.0)], 2.0),
        # No observations, no buckets: no quantile.
        (0.5, [(0.1, 0.0), (INF, 0.0)], None),
        (0.5, [], None),
    ],
)
def test_histogram_quantile(q: float, buckets: list[tuple[float, float]],
                            expected: float | None) -> None:
    found = histogram_quantile(q, buckets)
    if expected is None:
        assert found is None
    else:
        assert found == pytest.approx(expected)


@pytest.mark.parametrize(("q", "buckets", "error"), [
    (1.5, [(INF, 1.0)], "between 0 and 1"),
    (-0.1, [(INF, 1.0)], "between 0 and 1"),
    (0.5, [(0.1, 1.0)], r"\+Inf"),
])
def test_histogram_quantile_refuses(q: float, buckets: list[tuple[float, float]],
                                    error: str) -> None:
    with pytest.raises(ValueError, match=error):
        histogram_quantile(q, buckets)


def test_bucket_delta_is_what_happened_between_scrapes() -> None:
    earlier = [(0.1, 5.0), (1.0, 7.0), (INF, 7.0)]
    later = [(0.1, 5.0), (1.0, 17.0), (INF, 19.0)]
    assert bucket_delta(later, earlier) == [(0.1, 0.0), (1.0, 10.0), (INF, 12.0)]
    assert bucket_delta(later, []) == later


@pytest.fixture
def endpoint() -> Iterator[tuple[str, CollectorRegistry]]:
    registry = CollectorRegistry()
    handler = MetricsHandler.factory(registry)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metrics", registry
    finally:
        server.shutdown()
        server.server_close()


def test_scrape_parses_histograms_and_counters(endpoint: tuple[str, CollectorRegistry]) -> None:
    url, registry = endpoint
    histogram = LatencyHistogram("lat_seconds", "test", (0.01, 0.1), registry)
    histogram.observe_since("east", "row", 1.0, [0.995] * 3 + [0.95])
    histogram.observe_since("east", "binlog", 1.0, [0.0])
    histogram.observe_since("west", "row", 1.0, [0.5])
    events = Counter("events", "test", ["region"], registry=registry)
    events.labels("east").inc(3)
    events.labels("west").inc(4)
    families = scrape(url)
    east_row = histogram_buckets(families, "lat_seconds", region="east", clock="row")
    assert east_row == [(0.01, 3.0), (0.1, 4.0), (INF, 4.0)]
    # Labels left out are summed over.
    assert histogram_buckets(families, "lat_seconds", region="east")[-1] == (INF, 5.0)
    assert histogram_buckets(families, "lat_seconds")[-1] == (INF, 6.0)
    assert histogram_buckets(families, "nothing") == []
    assert histogram_quantile(0.5, east_row) == pytest.approx(0.01 * 2 / 3)
    assert counter_value(families, "events_total", region="west") == 4.0
    assert counter_value(families, "events_total") == 7.0
    assert counter_value(families, "nothing_total") == 0.0
