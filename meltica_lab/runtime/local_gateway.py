"""A manager behind the gateway client's interface: :class:`LocalGateway`.

:class:`LocalGateway` has :class:`~meltica_lab.gateway.GatewayClient`'s methods, with the same names,
arguments and result types (the gateway's own models and frames, :mod:`meltica_lab.gateway.models`
and :mod:`meltica_lab.gateway.frames`), so a notebook can switch between a local
:class:`~meltica_lab.runtime.Manager` and a live gateway by changing one line::

    ops = manager.gateway                  # or: GatewayClient("http://gateway:8880")
    ops.create_instance("mom-1", "momentum:v1.2.0", {"binance": ["BTC-USDT"]})
    ops.start_instance("mom-1")
    ops.orders_frame("mom-1")

Every answer is written as the gateway would write it and checked against the gateway's published
contract before it is read into the model, exactly as the client checks a live gateway's answers:
a local answer that broke the contract would be a bug here, and raises
:class:`~meltica_lab.errors.GatewayContractError` rather than hand back a value a live gateway
could not have sent. Query parameters are checked by the contract's parameter schemas too.

Where the two differ: mistakes raise the manager's own errors (``InstanceError``,
``NotFoundError``, ...) instead of :class:`~meltica_lab.errors.GatewayError`; orders and executions
are what the instance's simulated exchange did in its current session (or its last one, kept when
it was stopped), newest first, with the local client order ids as order ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from meltica_lab.backtest.results import fills_frame
from meltica_lab.backtest.results import orders_frame as session_orders_frame
from meltica_lab.backtest.session import SessionSnapshot
from meltica_lab.errors import GatewayContractError, InstanceError, SelectorError, UsageError
from meltica_lab.gateway.contract import Contract
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
from meltica_lab.runtime.results import RefreshResult
from meltica_lab.runtime.specs import Instance
from meltica_lab.selectors import Selector

if TYPE_CHECKING:
    from meltica_lab.runtime.manager import Manager

__all__ = ["LocalGateway"]

_FINAL_STATES = frozenset({"FILLED", "CANCELLED", "REJECTED", "EXPIRED"})
_NS_PER_S = 1_000_000_000


def _decimal(value: float) -> str | None:
    """A float as the shortest exact decimal text (``100``, ``0.5``), ``None`` for NaN."""
    if value != value:  # NaN: no fill yet
        return None
    return np.format_float_positional(value, trim="-")


def _seconds(stamp: pd.Timestamp) -> int:
    """Unix seconds of a UTC time, as the gateway stores order and execution times."""
    return int(stamp.value // _NS_PER_S)


def _texts(value: Any, what: str) -> list[str]:
    """A list of strings; a lone string is refused (iterating it would give its characters)."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise UsageError(f"{what}: expected a list of strings, got {value!r}", field=what)
    items = list(value)
    if not all(isinstance(item, str) for item in items):
        raise UsageError(f"{what}: expected a list of strings, got {items!r}", field=what)
    return items


def _scope(scope: Mapping[str, Iterable[str]]) -> tuple[list[str], list[str]]:
    """The providers and the symbols of a gateway ``scope`` (provider -> symbols)."""
    if not isinstance(scope, Mapping) or not scope:
        raise UsageError(f"scope: expected provider -> symbols, e.g. {{'binance': ['BTC-USDT']}}, got {scope!r}")
    providers = _texts(scope.keys(), "scope")
    symbols = [symbol for name, values in scope.items() for symbol in _texts(values, f"scope[{name!r}]")]
    return providers, symbols


def _order_items(snapshot: SessionSnapshot, instance_id: str) -> list[dict[str, Any]]:
    """The session's orders as the gateway's ``OrderRecord`` objects, oldest first."""
    frame = session_orders_frame(snapshot, instance_id)
    items = []
    for placed, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        final = row.state in _FINAL_STATES
        metadata: dict[str, Any] = {
            "placedAtNs": int(placed.value),
            "filledQuantity": _decimal(row.filled_quantity),
            "averagePrice": _decimal(row.avg_fill_price) if row.filled_quantity else None,
            "fees": _decimal(row.fees),
        }
        if row.reject_reason is not None:
            metadata["rejectReason"] = row.reject_reason
        items.append(
            {
                "id": row.client_order_id,
                "provider": row.provider,
                "strategyInstance": instance_id,
                "clientOrderId": row.client_order_id,
                "symbol": row.symbol,
                "side": row.side,
                "type": row.type,
                "quantity": _decimal(row.quantity),
                "price": _decimal(row.limit_price) if row.type == "Limit" else None,
                "state": row.state,
                "externalReference": None,
                "placedAt": _seconds(placed),
                "metadata": metadata,
                "acknowledgedAt": None if row.state == "REJECTED" else _seconds(placed),
                "completedAt": _seconds(row.updated) if final else None,
                "createdAt": _seconds(placed),
                "updatedAt": _seconds(row.updated),
            }
        )
    return items


def _execution_items(snapshot: SessionSnapshot, instance_id: str) -> list[dict[str, Any]]:
    """The session's fills as the gateway's ``ExecutionRecord`` objects, oldest first."""
    providers = dict(
        zip(*(session_orders_frame(snapshot, instance_id)[k] for k in ("client_order_id", "provider")), strict=True)
    )
    frame = fills_frame(snapshot, instance_id)
    items = []
    per_order: dict[str, int] = {}
    for traded, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        number = per_order[row.client_order_id] = per_order.get(row.client_order_id, 0) + 1
        items.append(
            {
                "orderId": row.client_order_id,
                "provider": providers[row.client_order_id],
                "strategyInstance": instance_id,
                "executionId": f"{row.client_order_id}-fill-{number}",
                "quantity": _decimal(row.quantity),
                "price": _decimal(row.price),
                "fee": _decimal(row.fee),
                "feeAsset": None,  # the simulated exchange books fees in the quote currency it does not name
                "liquidity": row.liquidity,
                "tradedAt": _seconds(traded),
                "metadata": {"tradedAtNs": int(traded.value), "position": _decimal(row.position)},
                "createdAt": _seconds(traded),
            }
        )
    return items


class LocalGateway:
    """A :class:`~meltica_lab.runtime.Manager` with :class:`~meltica_lab.gateway.GatewayClient`'s
    methods and result types; ``manager.gateway`` is one. ``contract`` is the
    :class:`~meltica_lab.gateway.contract.Contract` answers are checked against (the shipped one by
    default; share one between a client and a local gateway to read it once)."""

    def __init__(self, manager: Manager, contract: Contract | None = None) -> None:
        self.manager = manager
        self._contract = contract

    @property
    def contract(self) -> Contract:
        """The gateway contract every answer is checked against (read on first use)."""
        if self._contract is None:
            self._contract = Contract()
        return self._contract

    @property
    def base_url(self) -> str:
        """Where this "gateway" is: ``local:`` and the manager's strategies root."""
        return f"local:{self.manager.root}"

    def close(self) -> None:
        """Nothing to close: the manager stays open (close it yourself). Here for parity."""

    def __enter__(self) -> LocalGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the contract in between ---------------------------------------------------------------------

    def _answer(self, operation_id: str, body: Any) -> Any:
        """``body`` if it conforms to the contract's answer schema of ``operation_id``."""
        operation = self.contract.operation(operation_id)
        violation = self.contract.check_answer(operation, body)
        if violation is not None:
            raise GatewayContractError(
                f"{operation.describe()} on {self.base_url}: the local answer breaks the gateway contract "
                f"({self.contract.version}): {violation.describe()}",
                status=operation.success,
                url=self.base_url,
                method=operation.method,
                operation=operation.id,
                field=violation.field,
                expected=violation.expected,
            )
        return body

    def _query(self, operation_id: str, **values: Any) -> None:
        """Check query values against the contract's parameter schemas, as the client does."""
        parameters = self.contract.operation(operation_id).parameters
        for name, value in values.items():
            if value is not None and not parameters[name].accepts(value):
                raise UsageError(f"{name}: expected {parameters[name].expected()}, got {value!r}", field=name)

    # -- strategies ----------------------------------------------------------------------------------

    def strategies(self) -> tuple[Strategy, ...]:
        """Every strategy's metadata (of its default revision), by name (``GET /strategies``)."""
        loader = self.manager.loader
        items = [loader.resolve(name).metadata.to_dict() for name in loader.strategies()]
        body = self._answer("listStrategies", {"strategies": items})
        return tuple(Strategy.from_json(item) for item in body["strategies"])

    def strategy(self, name: str) -> Strategy:
        """One strategy's metadata, of its default revision (``GET /strategies/{name}``)."""
        if not isinstance(name, str) or Selector.parse(name).kind != "name":
            raise SelectorError(
                f"name: expected a strategy name, got {name!r}", selector=name if isinstance(name, str) else None
            )
        body = self._answer("getStrategy", self.manager.loader.resolve(name).metadata.to_dict())
        return Strategy.from_json(body)

    # -- modules -------------------------------------------------------------------------------------

    def modules(
        self,
        strategy: str | None = None,
        hash: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> ModuleList:
        """The module summaries, each with its default revision selected (``GET /strategies/modules``);
        ``strategy`` and ``hash`` filter, ``limit`` and ``offset`` page."""
        self._query("listStrategyModules", limit=limit, offset=offset)
        listing = self.manager.modules(strategy=strategy or None, hash=hash or None, limit=limit, offset=offset or 0)
        return ModuleList.from_json(self._answer("listStrategyModules", listing))

    def module(self, selector: str) -> ModuleSummary:
        """The module summary with the revision ``selector`` names selected."""
        return ModuleSummary.from_json(self._answer("getStrategyModule", self.manager.queries.module(selector)))

    def module_source(self, selector: str) -> bytes:
        """The module file's bytes, unchanged (checked against the revision's hash first)."""
        return self.manager.loader.resolve(selector).read_source()

    def usage(
        self,
        selector: str,
        include_stopped: bool = False,
        limit: int | None = None,
        offset: int | None = None,
    ) -> RevisionUsage:
        """The revision's usage and the instances on it (running ones; stopped ones too with
        ``include_stopped``), paged by ``limit``/``offset``."""
        self._query("getStrategyModuleUsage", includeStopped=include_stopped, limit=limit, offset=offset)
        answer = self.manager.usage(selector, limit=limit, offset=offset or 0, include_stopped=include_stopped)
        return RevisionUsage.from_json(self._answer("getStrategyModuleUsage", answer))

    def upload(self, source: str | bytes) -> ModuleOperation:
        """Store a new revision (tag from its metadata, ``latest`` moves); instances move on refresh."""
        result = self.manager.upload(source)
        return ModuleOperation.from_json(self._answer("createStrategyModule", result.to_dict()))

    def update_module(self, selector: str, source: str | bytes) -> ModuleOperation:
        """Store ``source`` as a revision of the strategy ``selector`` names (``name`` or ``name:tag``:
        then under that tag). Unlike the reference gateway, which ignores the selector, a module that
        declares another strategy is refused."""
        parsed = Selector.parse(selector)
        name = parsed.name if parsed.name is not None else self.manager.loader.resolution(selector).name
        tag = parsed.tag if parsed.kind == "tag" else None
        result = self.manager.operations.upload(source, tag=tag, strategy=name)
        return ModuleOperation.from_json(self._answer("updateStrategyModule", result.to_dict()))

    def delete_module(self, selector: str) -> None:
        """Remove a revision (``name:tag``, ``name@hash``) or a whole strategy (``name``); refused while
        any instance, running or not, uses it."""
        self.manager.delete(selector)

    # -- tags ----------------------------------------------------------------------------------------

    def assign_tag(self, name: str, tag: str, hash: str, refresh: bool = True) -> TagMutation:
        """Point ``tag`` at ``hash``; with ``refresh`` the strategy's instances are re-resolved when it moved."""
        if not isinstance(refresh, bool):
            raise UsageError(f"refresh: expected a boolean, got {refresh!r}", field="refresh")
        result = self.manager.assign_tag(name, tag, hash, refresh=refresh)
        return TagMutation.from_json(self._answer("assignStrategyModuleTag", result.to_dict()))

    def delete_tag(self, name: str, tag: str, allow_orphan: bool = False) -> TagMutation:
        """Remove an alias (never ``latest``); refused unless another tag still points at the hash, or
        ``allow_orphan``."""
        self._query("deleteStrategyModuleTag", allowOrphan=allow_orphan)
        result = self.manager.delete_tag(name, tag, allow_orphan=allow_orphan)
        return TagMutation.from_json(self._answer("deleteStrategyModuleTag", result.to_dict()))

    # -- refresh and the registry export -------------------------------------------------------------

    def refresh(self, hashes: Iterable[str] = (), strategies: Iterable[str] = ()) -> RefreshOutcome:
        """Reload modules and re-resolve instances: ``refreshed`` without targets, else
        ``partial_refresh``. Unlike the reference gateway, a full refresh also lists one record per
        instance (a targeted one also lists one ``retired`` record per target no instance uses)."""
        hashes, strategies = _texts(hashes, "hashes"), _texts(strategies, "strategies")
        results: list[RefreshResult] = self.manager.refresh(hashes, strategies)
        status = "partial_refresh" if any(t.strip() for t in (*hashes, *strategies)) else "refreshed"
        body = {"status": status, "results": [r.to_dict() for r in results] or None}
        return RefreshOutcome.from_json(self._answer("refreshStrategies", body))

    def registry_export(self) -> RegistryExport:
        """The registry as on disk now, plus the usage index (zero-count entries included).
        :meth:`RegistryExport.to_usage_export` hands it to :mod:`meltica_lab.analysis`."""
        body = self._answer("exportStrategyRegistry", self.manager.export())
        return RegistryExport.from_json(body, source=self.base_url)

    # -- instances -----------------------------------------------------------------------------------

    def instances(self) -> tuple[InstanceSummary, ...]:
        """Every instance summary, sorted by id."""
        return tuple(InstanceSummary.from_json(item) for item in self._instance_items())

    def instances_frame(self) -> pd.DataFrame:
        """Every instance as a frame, the columns of :meth:`GatewayClient.instances_frame`."""
        return instances_frame(self._instance_items())

    def _instance_items(self) -> list[dict[str, Any]]:
        items = [view.to_dict() for view in self.manager.instances()]
        return self._answer("listInstances", {"instances": items})["instances"]

    def _snapshot(self, operation_id: str, view: Instance) -> InstanceSnapshot:
        spec, summary = view.spec, view.to_dict()
        body = {
            "id": spec.id,
            "strategy": {
                "identifier": spec.identifier,
                "config": dict(spec.config),
                "selector": spec.selector,
                "tag": spec.tag,
                "hash": spec.hash,
            },
            "scope": {provider: {"symbols": list(spec.symbols)} for provider in spec.providers},
            **{key: summary[key] for key in ("providers", "aggregatedSymbols", "running", "usage", "links")},
        }
        return InstanceSnapshot.from_json(self._answer(operation_id, body))

    def instance(self, id: str) -> InstanceSnapshot:
        """One instance snapshot: its spec (``strategy``, ``scope``) and its state."""
        return self._snapshot("getInstance", self.manager.instance(id))

    def create_instance(
        self,
        id: str,
        strategy: str,
        scope: Mapping[str, Iterable[str]],
        config: Mapping[str, Any] | None = None,
    ) -> InstanceSnapshot:
        """Register a stopped instance of the revision ``strategy`` (a selector) resolves to, trading
        ``scope`` (provider -> symbols, e.g. ``{"binance": ["BTC-USDT"]}``) with ``config``."""
        providers, symbols = _scope(scope)
        view = self.manager.create(id, strategy, config, providers=providers, symbols=symbols)
        return self._snapshot("createInstance", view)

    def update_instance(
        self,
        id: str,
        strategy: str,
        scope: Mapping[str, Iterable[str]],
        config: Mapping[str, Any] | None = None,
    ) -> InstanceSnapshot:
        """Replace the instance's config (relaunching it if it runs). As on the reference gateway,
        only ``config`` may change: ``strategy`` must name the instance's strategy and ``scope`` must be
        its providers and symbols, else :class:`InstanceError` names what differs."""
        providers, symbols = _scope(scope)
        spec = self.manager.instance(id).spec
        named = self.manager.loader.resolution(strategy).name
        asked = {
            "strategy": named,
            "providers": tuple(sorted({p.strip() for p in providers})),
            "symbols": tuple(sorted({s.strip().upper() for s in symbols})),
        }
        for field, value in asked.items():
            if value != getattr(spec, field):
                raise InstanceError(
                    f"instance {spec.id}: {field} cannot change (is {getattr(spec, field)!r}, asked {value!r}); "
                    "only the config can: delete and create the instance for another",
                    field=field,
                )
        return self._snapshot("updateInstance", self.manager.update(id, config))

    def delete_instance(self, id: str) -> InstanceRemoval:
        """Stop the instance if it runs and remove it."""
        view = self.manager.remove(id)
        return InstanceRemoval.from_json(self._answer("deleteInstance", {"status": "removed", "id": view.id}))

    def _act(self, operation_id: str, view: Instance, action: str) -> InstanceAction:
        body = {"id": view.id, "status": "running" if view.running else "stopped", "action": action}
        return InstanceAction.from_json(self._answer(operation_id, body), action)

    def start_instance(self, id: str) -> InstanceAction:
        """Launch a stopped instance on its pinned hash."""
        return self._act("startInstance", self.manager.start(id), "start")

    def stop_instance(self, id: str) -> InstanceAction:
        """Stop a running instance."""
        return self._act("stopInstance", self.manager.stop(id), "stop")

    # -- what an instance traded ---------------------------------------------------------------------

    def _traded(self, id: str) -> SessionSnapshot | None:
        return self.manager.lifecycle.traded(id)

    def _orders(
        self, id: str, limit: int | None, provider: str | None, state: str | Sequence[str]
    ) -> list[dict[str, Any]]:
        states = [state] if isinstance(state, str) else _texts(state, "state")
        self._query("listInstanceOrders", limit=limit, provider=provider, state=states or None)
        traded = self._traded(id)
        items = [] if traded is None else _order_items(traded, self.manager.instance(id).id)[::-1]
        items = [
            item
            for item in items
            if (not provider or item["provider"] == provider) and (not states or item["state"] in states)
        ][:limit]
        return self._answer("listInstanceOrders", {"orders": items, "count": len(items)})["orders"]

    def orders(
        self, id: str, limit: int | None = None, provider: str | None = None, state: str | Sequence[str] = ()
    ) -> OrderHistory:
        """The instance's orders, newest first: at most ``limit``, of ``provider``, in ``state`` (one
        state or several)."""
        items = self._orders(id, limit, provider, state)
        return OrderHistory.from_json({"orders": items, "count": len(items)})

    def orders_frame(
        self, id: str, limit: int | None = None, provider: str | None = None, state: str | Sequence[str] = ()
    ) -> pd.DataFrame:
        """:meth:`orders` as a frame, the columns of :meth:`GatewayClient.orders_frame`."""
        return orders_frame(self._orders(id, limit, provider, state))

    def _executions(
        self, id: str, limit: int | None, provider: str | None, order_id: str | None
    ) -> list[dict[str, Any]]:
        self._query("listInstanceExecutions", limit=limit, provider=provider, orderId=order_id)
        traded = self._traded(id)
        items = [] if traded is None else _execution_items(traded, self.manager.instance(id).id)[::-1]
        items = [
            item
            for item in items
            if (not provider or item["provider"] == provider) and (not order_id or item["orderId"] == order_id)
        ][:limit]
        return self._answer("listInstanceExecutions", {"executions": items, "count": len(items)})["executions"]

    def executions(
        self, id: str, limit: int | None = None, provider: str | None = None, order_id: str | None = None
    ) -> ExecutionHistory:
        """The instance's fills, newest first: at most ``limit``, of ``provider``, of the order ``order_id``."""
        items = self._executions(id, limit, provider, order_id)
        return ExecutionHistory.from_json({"executions": items, "count": len(items)})

    def executions_frame(
        self, id: str, limit: int | None = None, provider: str | None = None, order_id: str | None = None
    ) -> pd.DataFrame:
        """:meth:`executions` as a frame, the columns of :meth:`GatewayClient.executions_frame`."""
        return executions_frame(self._executions(id, limit, provider, order_id))
