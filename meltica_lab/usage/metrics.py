"""Prometheus metrics of revision usage: the gateway's gauge and counter (compat §10).

``strategy_revision_instances{strategy,hash}`` (gauge: running instances of every entry) and
``strategy_revision_instances_total{strategy,hash,action="start"|"stop"}`` (counter: instance ids
added to or removed from a revision's running set in this process). The collector reads its numbers
from a callable at scrape time, so it holds no state of its own and can be registered in any
registry (the index's own, a manager's), never the process-global one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

__all__ = ["RevisionCounts", "UsageCollector", "metrics_text"]


@dataclass(frozen=True)
class RevisionCounts:
    """What the metrics say about one revision: running instances now, starts and stops so far."""

    strategy: str
    hash: str
    running: int
    starts: int
    stops: int


class UsageCollector:
    """A Prometheus collector (``collect()``) over ``counts``, called once per scrape."""

    def __init__(self, counts: Callable[[], Iterable[RevisionCounts]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        """The gauge and the counter family, one sample set per revision."""
        gauge = GaugeMetricFamily(
            "strategy_revision_instances",
            "Running instances per strategy revision.",
            labels=["strategy", "hash"],
        )
        counter = CounterMetricFamily(
            "strategy_revision_instances_total",
            "Instance ids added to (start) or removed from (stop) a revision's running set.",
            labels=["strategy", "hash", "action"],
        )
        for counts in self._counts():
            labels = [counts.strategy, counts.hash]
            gauge.add_metric(labels, counts.running)
            counter.add_metric([*labels, "start"], counts.starts)
            counter.add_metric([*labels, "stop"], counts.stops)
        yield gauge
        yield counter


def metrics_text(registry: CollectorRegistry) -> str:
    """Everything in ``registry`` in the Prometheus text format (0.0.4)."""
    return generate_latest(registry).decode("utf-8")
