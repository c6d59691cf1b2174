"""The manager's Prometheus metrics, in its own registry (never the process-global one).

Names follow the gateway (compat §10), with Prometheus spelling: the usage index's
``strategy_revision_instances`` gauge and ``strategy_revision_instances_total`` counter, plus
``strategy_upload_validation_failure_total{stage}``, ``strategy_tag_reassigned_total{strategy,tag}``
and ``strategy_tag_deleted_total{strategy,tag,allowOrphan}``.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, generate_latest

from meltica_lab.jshost.diagnostics import Diagnostic
from meltica_lab.usage import UsageIndex


class ManagerMetrics:
    """Counters for module operations and the usage index's gauge and counter, in one registry."""

    def __init__(self, index: UsageIndex) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(index)
        self._upload_failures = Counter(
            "strategy_upload_validation_failure",
            "Upload diagnostics by stage (one per diagnostic; 'unknown' when a failure had none).",
            ["stage"],
            registry=self.registry,
        )
        self._tag_reassigned = Counter(
            "strategy_tag_reassigned",
            "Tag assignments that moved a tag to another hash.",
            ["strategy", "tag"],
            registry=self.registry,
        )
        self._tag_deleted = Counter(
            "strategy_tag_deleted",
            "Tags removed.",
            ["strategy", "tag", "allowOrphan"],
            registry=self.registry,
        )

    def upload_failed(self, diagnostics: Sequence[Diagnostic]) -> None:
        """Count one failed upload's diagnostics by stage."""
        for diagnostic in diagnostics or ():
            self._upload_failures.labels(stage=diagnostic.stage).inc()
        if not diagnostics:
            self._upload_failures.labels(stage="unknown").inc()

    def tag_reassigned(self, strategy: str, tag: str) -> None:
        """Count a tag that moved to another hash."""
        self._tag_reassigned.labels(strategy=strategy.lower(), tag=tag.lower()).inc()

    def tag_deleted(self, strategy: str, tag: str, allow_orphan: bool) -> None:
        """Count a removed tag."""
        orphan = str(allow_orphan).lower()
        self._tag_deleted.labels(strategy=strategy.lower(), tag=tag.lower(), allowOrphan=orphan).inc()

    def text(self) -> str:
        """Everything in the Prometheus text format (0.0.4)."""
        return generate_latest(self.registry).decode("utf-8")
