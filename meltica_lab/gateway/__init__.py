"""Talking to a live Meltica gateway's control plane, as its published contract describes it.

:class:`GatewayClient` has one method per strategy, module, tag, refresh, registry-export and
instance endpoint of the contract (``openapi.yaml`` beside this file, the gateway's own
``docs/frontend-api.yaml``). Answers come back as frozen dataclasses (:mod:`.models`), or as pandas
frames for instances, orders and executions (:mod:`.frames`).

Modules, by concern:

* :mod:`.contract` — the contract: operations, parameters, and the schema checks;
* :mod:`.transport` — HTTP (httpx): timeouts, retries of reads, error answers as ``GatewayError``;
* :mod:`.models` — the typed answer values; :mod:`.frames` — the frames;
* :mod:`.checks` — inconsistencies the contract allows, reported as ``InconsistentAnswerWarning``;
* :mod:`.client` — :class:`GatewayClient`, the one entry point.
"""

from meltica_lab.gateway.checks import InconsistentAnswerWarning
from meltica_lab.gateway.client import GatewayClient
from meltica_lab.gateway.contract import CONTRACT_FILE, Contract
from meltica_lab.gateway.models import (
    ConfigField,
    ExecutionHistory,
    ExecutionRecord,
    InstanceAction,
    InstanceRemoval,
    InstanceSnapshot,
    InstanceStrategy,
    InstanceSummary,
    ModuleList,
    ModuleOperation,
    ModuleResolution,
    ModuleRevision,
    ModuleSummary,
    OrderHistory,
    OrderRecord,
    RefreshOutcome,
    RefreshRecord,
    RegistryEntry,
    RegistryExport,
    RegistryLocation,
    RevisionUsage,
    Strategy,
    TagMutation,
    UsageSummary,
)

__all__ = [
    "CONTRACT_FILE",
    "ConfigField",
    "Contract",
    "ExecutionHistory",
    "ExecutionRecord",
    "GatewayClient",
    "InconsistentAnswerWarning",
    "InstanceAction",
    "InstanceRemoval",
    "InstanceSnapshot",
    "InstanceStrategy",
    "InstanceSummary",
    "ModuleList",
    "ModuleOperation",
    "ModuleResolution",
    "ModuleRevision",
    "ModuleSummary",
    "OrderHistory",
    "OrderRecord",
    "RefreshOutcome",
    "RefreshRecord",
    "RegistryEntry",
    "RegistryExport",
    "RegistryLocation",
    "RevisionUsage",
    "Strategy",
    "TagMutation",
    "UsageSummary",
]
