"""The client for a live gateway's control plane: one method per endpoint of the published contract.

Every call goes through the contract (:mod:`meltica_lab.gateway.contract`): parameters are checked
against the contract's parameter schemas and sent under the contract's names, request bodies are
checked against the request schema, the ``Accept`` header is the media type the contract documents
for the answer, and every JSON answer is checked against the answer schema before it is read into a
typed value (:mod:`meltica_lab.gateway.models`). An answer that breaks the contract raises
:class:`~meltica_lab.errors.GatewayContractError` naming the endpoint, the field and what was
expected; one that conforms but disagrees with itself is kept as sent and reported as an
:class:`~meltica_lab.gateway.checks.InconsistentAnswerWarning`.
"""

from __future__ import annotations

import json
import urllib.parse
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx
import pandas as pd

from meltica_lab.errors import GatewayContractError, SelectorError, UsageError
from meltica_lab.gateway.checks import Findings, InconsistentAnswerWarning
from meltica_lab.gateway.contract import Contract, Operation
from meltica_lab.gateway.frames import executions_frame, instances_frame, orders_frame
from meltica_lab.gateway.models import (
    ExecutionHistory,
    InstanceAction,
    InstanceRemoval,
    InstanceSnapshot,
    InstanceSummary,
    ModuleList,
    ModuleOperation,
    ModuleSummary,
    OrderHistory,
    RefreshOutcome,
    RegistryExport,
    RevisionUsage,
    Strategy,
    TagMutation,
)
from meltica_lab.gateway.transport import Answer, Transport

__all__ = ["GatewayClient"]

# The gateway's router decodes path parameters; it reads "@" and ":" literally in selectors and
# writes them unescaped in its own links, so they stay readable here too.
_SAFE_IN_SEGMENT = "@:"
# GET /strategies/{name} cannot reach strategies with these names: the fixed routes come first.
_FIXED_ROUTES = ("modules", "refresh", "registry")


def _segment(value: Any, what: str) -> str:
    """Path-escape one URL segment; a value the gateway's router cannot route is refused here."""
    if not isinstance(value, str) or not value.strip() or "/" in value:
        message = f"{what}: expected a non-empty value without '/', got {value!r}"
        if what == "selector":
            raise SelectorError(message, selector=value if isinstance(value, str) else None)
        raise UsageError(message, field=what)
    return urllib.parse.quote(value, safe=_SAFE_IN_SEGMENT)


def _texts(value: Any, what: str) -> list[str]:
    """A list of strings from an iterable of strings; a lone string is refused, since iterating it
    would send one character per item."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise UsageError(f"{what}: expected a list of strings, got {value!r}", field=what)
    items = list(value)
    if not all(isinstance(item, str) for item in items):
        raise UsageError(f"{what}: expected a list of strings, got {items!r}", field=what)
    return items


def _instance_spec(
    id: str, strategy: str, scope: Mapping[str, Iterable[str]], config: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The contract's ``InstanceSpec`` body."""
    if not isinstance(scope, Mapping) or not scope:
        raise UsageError(f"scope: expected provider -> symbols, e.g. {{'binance': ['BTC-USDT']}}, got {scope!r}")
    if config is not None and not isinstance(config, Mapping):
        raise UsageError(f"config: expected a mapping of config values, got {config!r}", field="config")
    return {
        "id": id,
        "strategy": {"identifier": strategy, "config": dict(config or {})},
        "scope": {name: {"symbols": _texts(symbols, f"scope[{name!r}]")} for name, symbols in scope.items()},
    }


class GatewayClient:
    """A live gateway's control plane at ``base_url`` (e.g. ``http://127.0.0.1:8880``).

    ``timeout`` applies to each attempt (``connect_timeout`` to opening the connection, default the
    same); ``retries`` is how many more times a failed read is tried, waiting ``backoff`` seconds,
    then twice as long, and so on (writes are never sent twice). ``token`` is sent as a bearer token
    and ``headers`` with every request, for a gateway behind a proxy. ``transport`` is an
    :class:`httpx.BaseTransport` to send through (a Unix socket, a proxy set-up, a test double);
    ``contract`` a :class:`~meltica_lab.gateway.contract.Contract` to share between clients.

    Selectors are the gateway's: ``name``, ``name:tag``, ``name@sha256:…`` or a bare hash. Use the
    client as a context manager, or call :meth:`close`, to close its pooled connection.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        connect_timeout: float | None = None,
        retries: int = 2,
        backoff: float = 0.25,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        contract: Contract | None = None,
    ) -> None:
        self._transport = Transport(
            base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            retries=retries,
            backoff=backoff,
            token=token,
            headers=headers,
            transport=transport,
        )
        self.contract = contract if contract is not None else Contract()

    @property
    def base_url(self) -> str:
        """The gateway's base URL, without a trailing ``/``."""
        return self._transport.base_url

    @property
    def timeout(self) -> float:
        """Seconds each attempt may take."""
        return self._transport.timeout

    @property
    def retries(self) -> int:
        """How many more times a failed read is tried."""
        return self._transport.retries

    @property
    def backoff(self) -> float:
        """Seconds before the first retry (doubling after each)."""
        return self._transport.backoff

    def __repr__(self) -> str:
        return f"GatewayClient({self.base_url!r})"

    def close(self) -> None:
        """Close the pooled connection (the client must not be used afterwards)."""
        self._transport.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # -- the contract in between ----------------------------------------------------------------------

    def _call(
        self,
        operation_id: str,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        payload: Any = None,
    ) -> tuple[Answer, Any]:
        """Send one operation; returns the answer and its body (JSON, the bytes of a non-JSON answer,
        or ``None`` for an answer without content), checked against the contract."""
        operation = self.contract.operation(operation_id)
        route = operation.path
        for name, value in (path or {}).items():
            route = route.replace(f"{{{name}}}", _segment(value, name))
        pairs: list[tuple[str, str]] = []
        for name, value in (query or {}).items():
            if value is None:
                continue
            parameter = operation.parameters[name]
            if not parameter.accepts(value):
                raise UsageError(f"{name}: expected {parameter.expected()}, got {value!r}", field=name)
            pairs += parameter.encode(value)
        if payload is not None:
            violation = self.contract.check_body(operation, payload)
            if violation is not None:
                raise UsageError(f"{operation.describe()}: request body {violation.describe()}")
        answer = self._transport.send(
            operation.method,
            route,
            query=pairs,
            accept=operation.media_type,
            payload=payload,
            retry=operation.reads,
        )
        if operation.media_type is None:
            return answer, None
        if operation.media_type != "application/json":
            return answer, answer.body
        try:
            body = json.loads(answer.body)
        except ValueError as exc:
            raise self._broken(operation, answer, "", "a JSON body", f"text that is not JSON ({exc})") from None
        violation = self.contract.check_answer(operation, body)
        if violation is not None:
            raise self._broken(operation, answer, violation.field, violation.expected, violation.got)
        return answer, body

    def _broken(
        self, operation: Operation, answer: Answer, field: str, expected: str, got: str
    ) -> GatewayContractError:
        where = f"{field}: " if field else ""
        return GatewayContractError(
            f"{answer.method} {answer.url} -> HTTP {answer.status}: the answer breaks the gateway contract "
            f"({operation.id} {self.contract.version}): {where}expected {expected}, got {got}",
            status=answer.status,
            url=answer.url,
            method=answer.method,
            operation=operation.id,
            field=field,
            expected=expected,
        )

    @staticmethod
    def _findings(answer: Answer, check: Callable[[Findings], None]) -> tuple[str, ...]:
        findings = Findings()
        check(findings)
        return tuple(f"{answer.method} {answer.url}: {text}" for text in findings.result())

    @staticmethod
    def _warn(found: Sequence[str]) -> None:
        # stacklevel 3: the line of the caller of the public method that called this.
        for text in found:
            warnings.warn(InconsistentAnswerWarning(text), stacklevel=3)

    # -- strategies ----------------------------------------------------------------------------------

    def strategies(self) -> tuple[Strategy, ...]:
        """``GET /strategies``: every strategy's metadata (of its default revision), by name."""
        _, body = self._call("listStrategies")
        return tuple(Strategy.from_json(item) for item in body["strategies"])

    def strategy(self, name: str) -> Strategy:
        """``GET /strategies/{name}``: one strategy's metadata."""
        if isinstance(name, str) and name.strip().lower() in _FIXED_ROUTES:
            raise UsageError(
                f"name: {name!r} is also a fixed route (GET /strategies/{name.strip()}); "
                f"use module({name!r}).metadata for that strategy",
                field="name",
            )
        _, body = self._call("getStrategy", path={"name": name})
        return Strategy.from_json(body)

    # -- modules -------------------------------------------------------------------------------------

    def modules(
        self,
        strategy: str | None = None,
        hash: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> ModuleList:
        """``GET /strategies/modules``: the module summaries, each with its default revision selected.

        ``strategy`` and ``hash`` filter (the gateway compares them case-insensitively); ``limit`` and
        ``offset`` page.
        """
        query = {"strategy": strategy or None, "hash": hash or None, "limit": limit, "offset": offset}
        answer, body = self._call("listStrategyModules", query=query)
        found = self._findings(answer, lambda f: f.modules(body))
        self._warn(found)
        return ModuleList.from_json(body, found)

    def module(self, selector: str) -> ModuleSummary:
        """``GET /strategies/modules/{selector}``: the summary with that revision selected."""
        _, body = self._call("getStrategyModule", path={"selector": selector})
        return ModuleSummary.from_json(body)

    def module_source(self, selector: str) -> bytes:
        """``GET /strategies/modules/{selector}/source``: the module file's bytes, unchanged (asked for
        as ``application/javascript``, the one media type the contract documents)."""
        _, body = self._call("getStrategyModuleSource", path={"selector": selector})
        return body

    def usage(
        self,
        selector: str,
        include_stopped: bool = False,
        limit: int | None = None,
        offset: int | None = None,
    ) -> RevisionUsage:
        """``GET /strategies/modules/{selector}/usage``: the revision's usage and the instances on it
        (running ones; stopped ones too with ``include_stopped``), paged by ``limit``/``offset``."""
        query = {"includeStopped": True if include_stopped else None, "limit": limit, "offset": offset}
        answer, body = self._call("getStrategyModuleUsage", path={"selector": selector}, query=query)
        found = self._findings(answer, lambda f: f.revision_usage(body))
        self._warn(found)
        return RevisionUsage.from_json(body, found)

    @staticmethod
    def _source(source: str | bytes) -> dict[str, str]:
        if isinstance(source, bytes):
            try:
                source = source.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UsageError(f"source: expected UTF-8 text ({exc})", field="source") from None
        return {"source": source}

    def upload(self, source: str | bytes) -> ModuleOperation:
        """``POST /strategies/modules``: store a new revision (tag from its metadata, ``latest`` moves).

        The gateway answers ``pending_refresh``: the code is live after a refresh. An invalid module
        raises :class:`~meltica_lab.errors.GatewayError` with status 422 and its ``diagnostics``.
        """
        _, body = self._call("createStrategyModule", payload=self._source(source))
        return ModuleOperation.from_json(body)

    def update_module(self, selector: str, source: str | bytes) -> ModuleOperation:
        """``PUT /strategies/modules/{selector}``: store ``source`` as a revision. The reference gateway
        ignores the selector and treats this exactly like :meth:`upload` (compat §9.3)."""
        _, body = self._call("updateStrategyModule", path={"selector": selector}, payload=self._source(source))
        return ModuleOperation.from_json(body)

    def delete_module(self, selector: str) -> None:
        """``DELETE /strategies/modules/{selector}``: remove a revision (``name:tag``, ``name@hash``) or a
        whole strategy (``name``). Refused while any instance, running or not, uses it."""
        self._call("deleteStrategyModule", path={"selector": selector})

    # -- tags ----------------------------------------------------------------------------------------

    def assign_tag(self, name: str, tag: str, hash: str, refresh: bool = True) -> TagMutation:
        """``PUT /strategies/modules/{name}/tags/{tag}``: point ``tag`` at ``hash``.

        With ``refresh`` the gateway re-resolves every instance of the strategy when the hash changed.
        """
        if not isinstance(refresh, bool):
            raise UsageError(f"refresh: expected a boolean, got {refresh!r}", field="refresh")
        _, body = self._call(
            "assignStrategyModuleTag", path={"name": name, "tag": tag}, payload={"hash": hash, "refresh": refresh}
        )
        return TagMutation.from_json(body)

    def delete_tag(self, name: str, tag: str, allow_orphan: bool = False) -> TagMutation:
        """``DELETE /strategies/modules/{name}/tags/{tag}``: remove an alias (never ``latest``).

        Refused unless another tag still points at the hash, or ``allow_orphan``.
        """
        query = {"allowOrphan": True if allow_orphan else None}
        _, body = self._call("deleteStrategyModuleTag", path={"name": name, "tag": tag}, query=query)
        return TagMutation.from_json(body)

    # -- refresh and the registry export -------------------------------------------------------------

    def refresh(self, hashes: Iterable[str] = (), strategies: Iterable[str] = ()) -> RefreshOutcome:
        """``POST /strategies/refresh``: reload modules and re-resolve instances.

        With no ``hashes`` and no ``strategies`` it is a full refresh (status ``refreshed``, no
        results); otherwise it is targeted (``partial_refresh``) and ``results`` holds one record per
        matching instance (reasons ``refreshed`` / ``alreadyPinned`` / ``retired``), plus one
        ``retired`` record per target no instance uses. ``hashes=[h]`` refreshes every instance on ``h``.
        """
        targets = {"hashes": _texts(hashes, "hashes"), "strategies": _texts(strategies, "strategies")}
        payload = {key: value for key, value in targets.items() if value}
        answer, body = self._call("refreshStrategies", payload=payload)
        found = self._findings(answer, lambda f: f.refresh(body))
        self._warn(found)
        return RefreshOutcome.from_json(body, found)

    def registry_export(self) -> RegistryExport:
        """``GET /strategies/registry``: the registry as the gateway reads it now, plus its usage index.
        :meth:`RegistryExport.to_usage_export` hands it to :mod:`meltica_lab.analysis`."""
        answer, body = self._call("exportStrategyRegistry")
        found = self._findings(answer, lambda f: f.registry_export(body))
        self._warn(found)
        return RegistryExport.from_json(body, source=answer.url, warnings=found)

    # -- instances -----------------------------------------------------------------------------------

    def _instances(self) -> tuple[list[Any], tuple[str, ...]]:
        answer, body = self._call("listInstances")
        items = body["instances"]
        return items, self._findings(answer, lambda f: f.instances(items))

    def instances(self) -> tuple[InstanceSummary, ...]:
        """``GET /strategy/instances``: every instance summary, sorted by id."""
        items, found = self._instances()
        self._warn(found)
        return tuple(InstanceSummary.from_json(item) for item in items)

    def instances_frame(self) -> pd.DataFrame:
        """``GET /strategy/instances`` as a frame: one row per instance; see
        :func:`meltica_lab.gateway.frames.instances_frame` for the columns."""
        items, found = self._instances()
        self._warn(found)
        return instances_frame(items, found)

    def _snapshot(self, operation_id: str, id: str, **request: Any) -> InstanceSnapshot:
        answer, body = self._call(operation_id, **request)
        return InstanceSnapshot.from_json(body, self._findings(answer, lambda f: f.snapshot(body, id)))

    def instance(self, id: str) -> InstanceSnapshot:
        """``GET /strategy/instances/{id}``: one instance snapshot."""
        snapshot = self._snapshot("getInstance", id, path={"id": id})
        self._warn(snapshot.warnings)
        return snapshot

    def create_instance(
        self,
        id: str,
        strategy: str,
        scope: Mapping[str, Iterable[str]],
        config: Mapping[str, Any] | None = None,
    ) -> InstanceSnapshot:
        """``POST /strategy/instances``: register a stopped instance of the revision ``strategy`` (a
        selector) resolves to, trading ``scope`` (provider -> symbols, e.g. ``{"binance": ["BTC-USDT"]}``)
        with ``config``."""
        snapshot = self._snapshot("createInstance", id, payload=_instance_spec(id, strategy, scope, config))
        self._warn(snapshot.warnings)
        return snapshot

    def update_instance(
        self,
        id: str,
        strategy: str,
        scope: Mapping[str, Iterable[str]],
        config: Mapping[str, Any] | None = None,
    ) -> InstanceSnapshot:
        """``PUT /strategy/instances/{id}``: replace the instance's spec. The reference gateway only lets
        ``config`` change (strategy, providers and scope must be the stored ones) and relaunches a
        running instance."""
        spec = _instance_spec(id, strategy, scope, config)
        snapshot = self._snapshot("updateInstance", id, path={"id": id}, payload=spec)
        self._warn(snapshot.warnings)
        return snapshot

    def delete_instance(self, id: str) -> InstanceRemoval:
        """``DELETE /strategy/instances/{id}``: stop the instance if it runs and remove it."""
        _, body = self._call("deleteInstance", path={"id": id})
        return InstanceRemoval.from_json(body)

    def _act(self, operation_id: str, id: str, action: str) -> InstanceAction:
        answer, body = self._call(operation_id, path={"id": id})
        found = self._findings(answer, lambda f: f.action(body, id, action))
        return InstanceAction.from_json(body, action, found)

    def start_instance(self, id: str) -> InstanceAction:
        """``POST /strategy/instances/{id}/start``: launch a stopped instance."""
        result = self._act("startInstance", id, "start")
        self._warn(result.warnings)
        return result

    def stop_instance(self, id: str) -> InstanceAction:
        """``POST /strategy/instances/{id}/stop``: stop a running instance."""
        result = self._act("stopInstance", id, "stop")
        self._warn(result.warnings)
        return result

    # -- what an instance traded ---------------------------------------------------------------------

    def _orders(
        self, id: str, limit: int | None, provider: str | None, state: str | Sequence[str]
    ) -> tuple[Any, tuple[str, ...]]:
        states = [state] if isinstance(state, str) else _texts(state, "state")
        query = {"limit": limit, "provider": provider or None, "state": states or None}
        answer, body = self._call("listInstanceOrders", path={"id": id}, query=query)
        return body, self._findings(answer, lambda f: f.orders(body, id))

    def orders(
        self, id: str, limit: int | None = None, provider: str | None = None, state: str | Sequence[str] = ()
    ) -> OrderHistory:
        """``GET /strategy/instances/{id}/orders``: the instance's recent orders, at most ``limit``, of
        ``provider``, in ``state`` (one state or several, sent as ``state=a&state=b``)."""
        body, found = self._orders(id, limit, provider, state)
        self._warn(found)
        return OrderHistory.from_json(body, found)

    def orders_frame(
        self, id: str, limit: int | None = None, provider: str | None = None, state: str | Sequence[str] = ()
    ) -> pd.DataFrame:
        """:meth:`orders` as a frame: one row per order, times as UTC datetimes, ``quantity`` and
        ``price`` as floats beside ``quantity_text``/``price_text``; see
        :func:`meltica_lab.gateway.frames.orders_frame`."""
        body, found = self._orders(id, limit, provider, state)
        self._warn(found)
        return orders_frame(body["orders"], found)

    def _executions(
        self, id: str, limit: int | None, provider: str | None, order_id: str | None
    ) -> tuple[Any, tuple[str, ...]]:
        query = {"limit": limit, "provider": provider or None, "orderId": order_id or None}
        answer, body = self._call("listInstanceExecutions", path={"id": id}, query=query)
        return body, self._findings(answer, lambda f: f.executions(body, id))

    def executions(
        self, id: str, limit: int | None = None, provider: str | None = None, order_id: str | None = None
    ) -> ExecutionHistory:
        """``GET /strategy/instances/{id}/executions``: the instance's recent fills, at most ``limit``,
        of ``provider``, of the order ``order_id``."""
        body, found = self._executions(id, limit, provider, order_id)
        self._warn(found)
        return ExecutionHistory.from_json(body, found)

    def executions_frame(
        self, id: str, limit: int | None = None, provider: str | None = None, order_id: str | None = None
    ) -> pd.DataFrame:
        """:meth:`executions` as a frame: one row per fill, times as UTC datetimes, ``quantity``,
        ``price`` and ``fee`` as floats beside the exact strings; see
        :func:`meltica_lab.gateway.frames.executions_frame`."""
        body, found = self._executions(id, limit, provider, order_id)
        self._warn(found)
        return executions_frame(body["executions"], found)
