"""Prometheus metrics of the usage index: families, their own registry, the /metrics endpoint."""

from __future__ import annotations

import urllib.request

import prometheus_client

from meltica_lab.usage import (
    UsageIndex,
)
from tests.usage.samples import H1, H2, T0

# -- metrics ----------------------------------------------------------------------------------------


def test_metrics_text_has_the_gauge_and_the_counter_per_revision() -> None:
    index = UsageIndex()
    index.record_start("demo", H1, "i1", at=T0)
    index.record_start("demo", H1, "i2", at=T0)
    index.record_stop("demo", H1, "i2", at=T0)
    index.ensure("demo", H2)
    text = index.metrics_text()
    assert "# TYPE strategy_revision_instances gauge" in text
    assert "# TYPE strategy_revision_instances_total counter" in text
    assert f'strategy_revision_instances{{hash="{H1}",strategy="demo"}} 1.0' in text
    assert f'strategy_revision_instances{{hash="{H2}",strategy="demo"}} 0.0' in text
    assert f'strategy_revision_instances_total{{action="start",hash="{H1}",strategy="demo"}} 2.0' in text
    assert f'strategy_revision_instances_total{{action="stop",hash="{H1}",strategy="demo"}} 1.0' in text


def test_metrics_stay_out_of_the_global_prometheus_registry() -> None:
    UsageIndex().record_start("demo", H1, "i1")
    assert b"strategy_revision_instances" not in prometheus_client.generate_latest()


def test_serve_metrics_answers_scrapes_in_the_text_format() -> None:
    index = UsageIndex()
    index.record_start("demo", H1, "i1", at=T0)
    server = index.serve_metrics(0)
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            body = response.read().decode("utf-8")
            kind = response.headers["Content-Type"]
    finally:
        server.shutdown()
        server.server_close()
    assert kind.startswith("text/plain; version=0.0.4")
    assert f'strategy_revision_instances{{hash="{H1}",strategy="demo"}} 1.0' in body
