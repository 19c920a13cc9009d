"""Quantiles from Prometheus histograms, and scraping a ``/metrics`` endpoint: for live
p50/p99 figures without a Prometheus server (the demo, the benchmarks).

    families = scrape("http://127.0.0.1:9101/metrics")
    buckets = histogram_buckets(families, "cachesync_commit_to_applied_seconds",
                                region="east", clock="row")
    p99 = histogram_quantile(0.99, buckets)  # seconds, or None before any observation

:func:`histogram_quantile` estimates like PromQL's ``histogram_quantile``: it finds the
bucket holding the rank ``q * count`` and interpolates linearly inside it (the first
bucket starts at 0). Its accuracy is the bucket width; a rank in the ``+Inf`` bucket gives
the highest finite bound (a lower bound of the truth). Two scrapes of one process give the
quantiles of what happened between them: :func:`bucket_delta`.
"""

from __future__ import annotations

import math
import urllib.request
from collections.abc import Mapping, Sequence

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

Buckets = list[tuple[float, float]]
"""``(upper bound, cumulative count)`` pairs, ascending, ending with ``(inf, total)``."""


def scrape(url: str, timeout_s: float = 5.0) -> dict[str, Metric]:
    """The metric families an endpoint exposes, by name (a histogram under its base name,
    e.g. ``cachesync_commit_to_applied_seconds``; a counter without ``_total``)."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        text = response.read().decode("utf-8")
    return {family.name: family for family in text_string_to_metric_families(text)}


def histogram_buckets(families: Mapping[str, Metric], name: str, **labels: str) -> Buckets:
    """The cumulative buckets of histogram ``name``, summed over every series whose labels
    include ``labels`` (e.g. ``region="east"`` sums over ``clock``); empty if none."""
    family = families.get(name)
    if family is None:
        return []
    summed: dict[float, float] = {}
    for sample in family.samples:
        if sample.name != name + "_bucket":
            continue
        if any(sample.labels.get(key) != value for key, value in labels.items()):
            continue
        bound = float(sample.labels["le"])
        summed[bound] = summed.get(bound, 0.0) + sample.value
    return sorted(summed.items())


def counter_value(families: Mapping[str, Metric], name: str, **labels: str) -> float:
    """Sum of the counter (or gauge) ``name``'s series whose labels include ``labels``."""
    family = families.get(name.removesuffix("_total"))
    if family is None:
        return 0.0
    return sum(sample.value for sample in family.samples
               if sample.name in (name, family.name + "_total", family.name)
               and all(sample.labels.get(key) == value for key, value in labels.items()))


def bucket_delta(later: Buckets, earlier: Buckets) -> Buckets:
    """The buckets of the observations made between two scrapes of one process."""
    before = dict(earlier)
    return [(bound, count - before.get(bound, 0.0)) for bound, count in later]


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """The ``q``-quantile (0 ≤ q ≤ 1) of a histogram's cumulative buckets; None when it has
    no observations. ValueError for a q out of range or buckets without ``+Inf``."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is not between 0 and 1")
    ordered = sorted(buckets)
    if not ordered:
        return None
    if not math.isinf(ordered[-1][0]):
        raise ValueError("histogram buckets must end with the +Inf bucket")
    total = ordered[-1][1]
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank and count > below:
            if math.isinf(bound):
                return lower  # beyond the last finite bound: the best known lower bound
            if bound <= 0.0:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower  # pragma: no cover - the +Inf bucket holds every observation
