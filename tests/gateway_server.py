"""A loopback stand-in for a Meltica gateway's control plane, for testing clients over real HTTP.

:class:`FakeGateway` runs a ``ThreadingHTTPServer`` on 127.0.0.1 (ephemeral port) that answers the
documented routes (compat §9, and the strategy, module, tag, refresh, export and instance routes of
``gateway-openapi.yaml``) with the documented shapes and error bodies, over a small in-memory state:
a registry with two strategies, their sources, instances with their orders and executions, and a
real :class:`~meltica_lab.usage.UsageIndex`. Every request is recorded as sent (raw path, query,
headers, body), and :meth:`FakeGateway.script` overrides the next answers of one route: a status and
body, a delay, or a dropped connection — to test error mapping, timeouts, retries, and answers the
contract allows but a contract mock never sends (paging, inconsistencies, the gateway's own forms).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from meltica_lab.usage import UsageIndex

ROOT = "/srv/meltica/strategies"
MAX_BODY = 1 << 20
_HEX64 = re.compile(r"[0-9a-f]{64}")
# The gateway writes its server's local offset and full nanoseconds (compat §7).
_LOCAL = timezone(timedelta(hours=2))


def digest(source: bytes) -> str:
    """The registry hash of a module's bytes: ``sha256:`` + lower-case hex."""
    return "sha256:" + hashlib.sha256(source).hexdigest()


def module_source(name: str, tag: str, body: str = "") -> bytes:
    """A minimal valid CommonJS strategy module."""
    return (
        "module.exports = {\n"
        f'  metadata: {{ name: "{name}", tag: "{tag}", displayName: "{name.title()}", '
        'description: "test strategy", config: [], events: ["Trade"] },\n'
        f"  create(env) {{ return {{ onTrade() {{ {body} }} }}; }},\n"
        "};\n"
    ).encode()


class Reply(Exception):
    """Raised inside a route to answer with ``status`` and the gateway's error body."""

    def __init__(self, status: int, error: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.body: dict[str, Any] = {"status": "error", "error": error, **(extra or {})}


@dataclass(frozen=True)
class Recorded:
    """One request as it arrived: ``path`` is the raw path (escapes intact), ``query`` the last value
    of each query parameter and ``raw_query`` the query text as sent."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    raw_query: str = ""

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)


@dataclass
class _Script:
    method: str
    path: str
    times: int
    status: int | None = None
    body: Any = None
    drop: bool = False
    delay: float = 0.0


@dataclass
class Instance:
    """A registered instance spec, as the gateway's runtime manager keeps it."""

    id: str
    strategy: str
    selector: str
    hash: str
    tag: str
    running: bool
    providers: list[str] = field(default_factory=lambda: ["binance"])
    symbols: list[str] = field(default_factory=lambda: ["BTC-USDT"])
    config: dict[str, Any] = field(default_factory=dict)


class FakeGateway:
    """The stand-in gateway. Use as a context manager; ``url`` is its base URL once started."""

    def __init__(self) -> None:
        self.sources: dict[str, bytes] = {}
        self.registry: dict[str, Any] = {}
        self.usage = UsageIndex()
        self.instances: dict[str, Instance] = {}
        self.orders: dict[str, list[dict[str, Any]]] = {}
        self.executions: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[Recorded] = []
        self.refreshes: list[dict[str, Any]] = []
        self.registry_error: str | None = None
        self._scripts: list[_Script] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._seed()

    # -- lifecycle ----------------------------------------------------------------------------------

    def __enter__(self) -> FakeGateway:
        """Start serving on an ephemeral loopback port."""
        handler = type("Handler", (_Handler,), {"gateway": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-gateway", daemon=True
        ).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234``."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- test controls ------------------------------------------------------------------------------

    def script(
        self,
        method: str,
        path: str,
        *,
        status: int | None = None,
        body: Any = None,
        drop: bool = False,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        """Override the next ``times`` answers to ``method path`` (decoded path, no query).

        ``drop`` closes the connection without answering; ``delay`` waits first; ``status`` answers
        with ``body`` (JSON unless bytes). Without ``drop``/``status`` the real route answers after
        the delay.
        """
        with self._lock:
            self._scripts.append(_Script(method, path, times, status, body, drop, delay))

    def attempts(self, method: str, path: str) -> int:
        """How many requests arrived for ``method`` and the raw ``path``."""
        with self._lock:
            return sum(1 for r in self.requests if r.method == method and r.path == path)

    def last(self) -> Recorded:
        """The latest request."""
        with self._lock:
            return self.requests[-1]

    def _take_script(self, method: str, path: str) -> _Script | None:
        with self._lock:
            for script in self._scripts:
                if script.method == method and script.path == path and script.times > 0:
                    script.times -= 1
                    return script
        return None

    # -- state --------------------------------------------------------------------------------------

    def _add_revision(self, name: str, tag: str, source: bytes) -> str:
        h = digest(source)
        self.sources[h] = source
        entry = self.registry.setdefault(name, {"tags": {}, "hashes": {}})
        entry["hashes"][h] = {"tag": tag, "path": f"{name}/{h[7:]}/{name}.js"}
        entry["tags"][tag] = h
        entry["tags"]["latest"] = h
        return h

    def _seed(self) -> None:
        self.demo_v1 = self._add_revision("demo", "v1.0.0", module_source("demo", "v1.0.0"))
        self.demo_v2 = self._add_revision("demo", "v1.1.0", module_source("demo", "v1.1.0", "env.log('x');"))
        self.registry["demo"]["tags"]["stable"] = self.demo_v1
        self.alpha = self._add_revision("alpha", "v0.1.0", module_source("alpha", "v0.1.0"))
        start = datetime(2025, 11, 4, 13, 32, 54, 123456, tzinfo=_LOCAL)
        specs = [
            Instance("demo-1", "demo", "demo", self.demo_v2, "v1.1.0", running=True),
            Instance("demo+2", "demo", "demo", self.demo_v2, "v1.1.0", running=True),
            Instance("demo-pinned", "demo", f"demo@{self.demo_v1}", self.demo_v1, "v1.0.0", running=False),
            Instance("alpha 1", "alpha", "alpha:v0.1.0", self.alpha, "v0.1.0", running=False),
        ]
        for number, spec in enumerate(specs):
            self.instances[spec.id] = spec
            self.usage.ensure(spec.strategy, spec.hash)
            if spec.running:
                self.usage.record_start(spec.strategy, spec.hash, spec.id, at=start + timedelta(minutes=number))
        self.usage.record_start("demo", self.demo_v1, "demo-pinned", at=start)
        self.usage.record_stop("demo", self.demo_v1, "demo-pinned", at=start + timedelta(hours=1))
        self._seed_trades(int(start.timestamp()))

    def _seed_trades(self, placed: int) -> None:
        """Orders and fills of ``demo-1`` (Unix seconds, decimals as strings, as the gateway stores them)."""

        def order(number: int, side: str, kind: str, state: str, price: str | None, provider: str) -> dict[str, Any]:
            at = placed + 60 * number
            return {
                "id": f"ord-{number}",
                "provider": provider,
                "strategyInstance": "demo-1",
                "clientOrderId": f"demo-1-{at}000000000-{number}",
                "symbol": "BTC-USDT",
                "side": side,
                "type": kind,
                "quantity": "0.01000000",
                "price": price,
                "state": state,
                "externalReference": None if state == "REJECTED" else f"ext-{number}",
                "placedAt": at,
                "metadata": {"reason": "momentum"},
                "acknowledgedAt": None if state == "REJECTED" else at + 1,
                "completedAt": at + 2,
                "createdAt": at,
                "updatedAt": at + 2,
            }

        self.orders["demo-1"] = [
            order(1, "BUY", "LIMIT", "FILLED", "35000.50", "binance"),
            order(2, "SELL", "MARKET", "FILLED", None, "binance"),
            order(3, "BUY", "LIMIT", "REJECTED", "34000", "okx"),
        ]
        self.executions["demo-1"] = [
            {
                "orderId": "ord-1",
                "provider": "binance",
                "strategyInstance": "demo-1",
                "executionId": "exe-1",
                "quantity": "0.01000000",
                "price": "35000.50",
                "fee": "0.0000100",
                "feeAsset": "BTC",
                "liquidity": "MAKER",
                "tradedAt": placed + 62,
                "metadata": {},
                "createdAt": placed + 62,
            },
            {
                "orderId": "ord-2",
                "provider": "binance",
                "strategyInstance": "demo-1",
                "executionId": "exe-2",
                "quantity": "0.01000000",
                "price": "35010.25",
                "fee": None,
                "feeAsset": None,
                "liquidity": None,
                "tradedAt": placed + 121,
                "createdAt": placed + 121,
            },
        ]

    # -- routing ------------------------------------------------------------------------------------

    def handle(self, request: _Handler) -> None:
        raw_path, _, raw_query = request.path.partition("?")
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        recorded = Recorded(
            request.command,
            raw_path,
            dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True)),
            {key.lower(): value for key, value in request.headers.items()},
            body,
            raw_query,
        )
        with self._lock:
            self.requests.append(recorded)
        path = urllib.parse.unquote(raw_path)
        script = self._take_script(request.command, path)
        if script is not None:
            time.sleep(script.delay)
            if script.drop:
                request.close_connection = True
                return
            if script.status is not None:
                self._send(request, script.status, script.body)
                return
        try:
            if length > MAX_BODY:
                raise Reply(413, "request body too large")
            status, answer = self._route(recorded, [s for s in path.split("/") if s])
        except Reply as reply:
            status, answer = reply.status, reply.body
        self._send(request, status, answer)

    @staticmethod
    def _send(request: _Handler, status: int, answer: Any) -> None:
        if isinstance(answer, bytes):
            data, kind = answer, "application/javascript; charset=utf-8"
        elif answer is None:
            data, kind = b"", "application/json"
        else:
            data, kind = json.dumps(answer, ensure_ascii=False).encode("utf-8"), "application/json"
        request.send_response(status)
        if status == 405:
            request.send_header("Allow", "GET, POST, PUT, DELETE")
        request.send_header("Content-Type", kind)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _route(self, request: Recorded, parts: list[str]) -> tuple[int, Any]:
        method = request.method
        if parts[:2] == ["strategies", "modules"]:
            return self._module_route(request, parts[2:])
        if parts == ["strategies", "refresh"] and method == "POST":
            return 200, self._refresh(request.body)
        if parts == ["strategies", "registry"] and method == "GET":
            if self.registry_error is not None:
                raise Reply(500, self.registry_error)
            usage = [record.to_dict() for record in self.usage.snapshot()]
            return 200, {"registry": self.registry, "usage": usage or None}
        if parts == ["strategies"] and method == "GET":
            return 200, {"strategies": [self._metadata(name, self._default(name)) for name in sorted(self.registry)]}
        if len(parts) == 2 and parts[0] == "strategies" and method == "GET":
            if parts[1] not in self.registry:
                raise Reply(404, "strategy not found")
            return 200, self._metadata(parts[1], self._default(parts[1]))
        if parts[:2] == ["strategy", "instances"]:
            return self._instance_route(request, parts[2:])
        raise Reply(404, "not found")

    def _module_route(self, request: Recorded, rest: list[str]) -> tuple[int, Any]:
        method = request.method
        if not rest:
            if method == "GET":
                return 200, self._list(request.query)
            if method == "POST":
                return 201, self._upload(request.body)
            raise Reply(405, "method not allowed")
        if len(rest) >= 2 and rest[1].lower() == "tags":
            if len(rest) != 3:
                raise Reply(404, "invalid module tag path")
            if method == "PUT":
                return 200, self._assign_tag(rest[0], rest[2], request.body)
            if method == "DELETE":
                return 200, self._delete_tag(rest[0], rest[2], request.query)
            raise Reply(405, "method not allowed")
        if len(rest) == 1:
            if method == "GET":
                name, h, _ = self._get(rest[0])
                return 200, self._summary(name, h)
            if method == "PUT":  # the selector is ignored, as the gateway does (compat §13.7)
                return 200, self._upload(request.body)
            if method == "DELETE":
                self._delete_module(rest[0])
                return 204, None
            raise Reply(405, "method not allowed")
        if len(rest) == 2 and rest[1] == "source":
            _, h, _ = self._get(rest[0])
            return 200, self.sources[h]
        if len(rest) == 2 and rest[1] == "usage":
            return 200, self._usage(rest[0], request.query)
        raise Reply(404, "invalid module path")

    def _instance_route(self, request: Recorded, rest: list[str]) -> tuple[int, Any]:
        method = request.method
        if not rest:
            if method == "GET":
                return 200, {"instances": [self._instance(self.instances[i]) for i in sorted(self.instances)]}
            if method == "POST":
                spec = self._spec(request.body)
                if spec.id in self.instances:
                    raise Reply(409, "strategy instance already exists")
                self.instances[spec.id] = spec
                self.usage.ensure(spec.strategy, spec.hash)
                return 201, self._snapshot(spec)
            raise Reply(405, "method not allowed")
        spec = self.instances.get(rest[0])
        if spec is None:
            raise Reply(404, "strategy instance not found")
        if len(rest) == 1:
            if method == "GET":
                return 200, self._snapshot(spec)
            if method == "PUT":
                return 200, self._update(spec, request.body)
            if method == "DELETE":
                if spec.running:
                    self._set_running(spec, False)
                del self.instances[spec.id]
                return 200, {"status": "removed", "id": spec.id}
            raise Reply(405, "method not allowed")
        if len(rest) == 2 and method == "POST" and rest[1] in ("start", "stop"):
            wanted = rest[1] == "start"
            if spec.running == wanted:
                raise Reply(409, f"strategy instance {'already' if wanted else 'not'} running")
            self._set_running(spec, wanted)
            return 200, {"id": spec.id, "status": "running" if wanted else "stopped", "action": rest[1]}
        if len(rest) == 2 and method == "GET" and rest[1] == "orders":
            return 200, self._trades(self.orders, "orders", spec.id, request)
        if len(rest) == 2 and method == "GET" and rest[1] == "executions":
            return 200, self._trades(self.executions, "executions", spec.id, request)
        raise Reply(404, "unsupported action")

    # -- resolution (compat §4) ---------------------------------------------------------------------

    def _owner(self, h: str) -> str | None:
        return next((name for name, entry in self.registry.items() if h in entry["hashes"]), None)

    def _default(self, name: str) -> str:
        entry = self.registry[name]
        return entry["tags"].get("latest") or min(entry["hashes"])

    def _resolve(self, ident: str) -> tuple[str, str, str]:
        """``ResolveReference``: returns (name, hash, canonical selector); errors as the gateway's."""
        text = ident.strip()
        if not text:
            raise Reply(400, "strategy loader: identifier required")
        lower = text.lower()
        bare = lower[7:] if lower.startswith("sha256:") else lower
        if _HEX64.fullmatch(bare):
            h = "sha256:" + bare
            owner = self._owner(h)
            if owner is None:
                raise Reply(400, f'strategy loader: hash "{h}" not found')
            return owner, h, f"{owner}@{h}"
        if "@" in text:
            name, part = (s.strip() for s in text.split("@", 1))
            name = name.lower()
            h = part.lower() if ":" in part or not _HEX64.fullmatch(part.lower()) else "sha256:" + part.lower()
            if name not in self.registry:
                raise Reply(404, "strategy module not found")
            owner = self._owner(h)
            if owner is None:
                raise Reply(400, f'strategy loader: hash "{h}" not found for {name}')
            if owner != name:
                raise Reply(400, f'strategy loader: hash "{h}" belongs to {owner}')
            return name, h, f"{name}@{h}"
        name, _, tag = text.rpartition(":") if ":" in text else (text, "", "")
        name, tag = name.strip().lower(), tag.strip()
        if not name:
            raise Reply(400, "strategy loader: strategy name required")
        if tag:
            target = self.registry.get(name, {}).get("tags", {}).get(tag)
            if target is None:
                raise Reply(400, f'strategy loader: tag "{tag}" not found for {name}')
            return name, target, f"{name}:{tag}"
        if name not in self.registry:
            raise Reply(404, "strategy module not found")
        return name, self._default(name), name

    def _get(self, ident: str) -> tuple[str, str, str]:
        """``Get``: like :meth:`_resolve`, but an unknown bare hash is 404 (compat §4.4)."""
        lower = ident.strip().lower()
        bare = lower[7:] if lower.startswith("sha256:") else lower
        if _HEX64.fullmatch(bare) and self._owner("sha256:" + bare) is None:
            raise Reply(404, "strategy module not found")
        return self._resolve(ident)

    # -- answers ------------------------------------------------------------------------------------

    def _summary(self, name: str, h: str) -> dict[str, Any]:
        entry = self.registry[name]
        tags = sorted({t for t, target in entry["tags"].items() if target == h} | {entry["hashes"][h]["tag"]})
        revisions = [
            {
                "hash": rev,
                "path": f"{ROOT}/{location['path']}",
                "tag": location["tag"],
                "size": len(self.sources[rev]),
            }
            for rev, location in sorted(entry["hashes"].items(), key=lambda item: (item[1]["tag"], item[0]))
        ]
        return {
            "name": name,
            "file": f"{name}.js",
            "path": f"{ROOT}/{entry['hashes'][h]['path']}",
            "selectedRevisionHash": h,
            "selectedRevisionTag": entry["hashes"][h]["tag"],
            "tags": tags,
            "tagAliases": dict(entry["tags"]),
            "revisions": revisions,
            "size": len(self.sources[h]),
            "metadata": self._metadata(name, h),
        }

    def _metadata(self, name: str, h: str) -> dict[str, Any]:
        """The metadata of :func:`module_source` modules, as the gateway renders it."""
        return {
            "name": name,
            "tag": self.registry[name]["hashes"][h]["tag"],
            "displayName": name.title(),
            "description": "test strategy",
            "config": [],
            "events": ["Trade"],
        }

    @staticmethod
    def _count(query: dict[str, str], key: str) -> int | None:
        if key not in query:
            return None
        value = query[key]
        if not value.isdigit():
            raise Reply(400, f"{key} must be a non-negative integer")
        return int(value)

    @staticmethod
    def _flag(query: dict[str, str], key: str) -> bool:
        value = query.get(key, "false").lower()
        if value not in ("true", "false", "1", "0"):
            raise Reply(400, f"{key} must be a boolean")
        return value in ("true", "1")

    def _list(self, query: dict[str, str]) -> dict[str, Any]:
        if query.get("runningOnly"):
            raise Reply(400, "runningOnly is no longer supported; use /strategies/modules/{selector}/usage")
        limit, offset = self._count(query, "limit"), self._count(query, "offset") or 0
        wanted_name = query.get("strategy", "").lower()
        wanted_hash = query.get("hash", "").lower()
        modules = []
        for name in sorted(self.registry):
            if wanted_name and name != wanted_name:
                continue
            summary = self._summary(name, self._default(name))
            if wanted_hash:
                summary["revisions"] = [r for r in summary["revisions"] if r["hash"].lower() == wanted_hash]
                if not summary["revisions"]:
                    continue
            modules.append(summary)
        offset = min(offset, len(modules))
        page = modules[offset:] if limit is None else modules[offset : offset + limit]
        answer: dict[str, Any] = {"modules": page, "total": len(modules), "offset": offset}
        if limit is not None:
            answer["limit"] = limit
        answer["strategyDirectory"] = ROOT
        return answer

    def _instance(self, spec: Instance) -> dict[str, Any]:
        selector = urllib.parse.quote(spec.selector, safe="@:")
        return {
            "id": spec.id,
            "strategyIdentifier": spec.strategy,
            "strategyTag": spec.tag,
            "strategyHash": spec.hash,
            "strategySelector": spec.selector,
            "providers": spec.providers,
            "aggregatedSymbols": spec.symbols,
            "running": spec.running,
            "usage": self.usage.get(spec.strategy, spec.hash).to_dict(),
            "links": {
                "self": f"/strategy/instances/{urllib.parse.quote(spec.id, safe='@:')}",
                "usage": f"/strategies/modules/{selector}/usage",
            },
        }

    def _usage(self, ident: str, query: dict[str, str]) -> dict[str, Any]:
        include_stopped = self._flag(query, "includeStopped")
        limit, offset = self._count(query, "limit"), self._count(query, "offset") or 0
        name, h, selector = self._resolve(ident)
        matching = [
            self._instance(spec)
            for _, spec in sorted(self.instances.items())
            if spec.strategy == name and spec.hash == h and (spec.running or include_stopped)
        ]
        offset = min(offset, len(matching))
        page = matching[offset:] if limit is None else matching[offset : offset + limit]
        return {
            "selector": selector,
            "strategy": name,
            "hash": h,
            "usage": self.usage.get(name, h).to_dict(),
            "instances": page,
            "total": len(matching),
            "offset": offset,
            "limit": limit,
        }

    @staticmethod
    def _payload(body: bytes, allowed: set[str]) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise Reply(400, f"decode payload: {exc}") from None
        if not isinstance(payload, dict):
            raise Reply(400, "decode payload: json: cannot unmarshal into object")
        unknown = sorted(set(payload) - allowed)
        if unknown:
            raise Reply(400, f'decode payload: json: unknown field "{unknown[0]}"')
        return payload

    def _upload(self, body: bytes) -> dict[str, Any]:
        payload = self._payload(body, {"source", "filename", "name", "tag", "aliases", "promoteLatest"})
        source = payload.get("source")
        if not isinstance(source, str) or not source.strip():
            raise Reply(400, "source required")
        if "syntax error" in source:
            diagnostic = {
                "stage": "compile",
                "message": "SyntaxError: Unexpected identifier 'error'",
                "line": 1,
                "column": 8,
                "hint": "Fix the JavaScript syntax near the reported location.",
            }
            raise Reply(
                422,
                "strategy_validation_failed",
                extra={"message": 'compile module "strategy-123.js" failed', "diagnostics": [diagnostic]},
            )
        if "module.exports" not in source:
            diagnostic = {
                "stage": "validation",
                "message": "metadata export missing",
                "hint": "Expose module.exports.metadata with required fields.",
            }
            raise Reply(
                422,
                "strategy_validation_failed",
                extra={"message": "metadata export missing", "diagnostics": [diagnostic]},
            )
        name_match = re.search(r'name:\s*"([^"]+)"', source)
        tag_match = re.search(r'tag:\s*"([^"]+)"', source)
        if name_match is None or tag_match is None:
            raise Reply(400, "metadata tag required for registry writes")
        name, tag = name_match.group(1).lower(), tag_match.group(1)
        h = self._add_revision(name, tag, source.encode("utf-8"))
        path = f"{ROOT}/{self.registry[name]['hashes'][h]['path']}"
        return {
            "status": "pending_refresh",
            "strategyDirectory": ROOT,
            "module": {"name": name, "hash": h, "tag": tag, "alias": tag, "file": f"{name}.js", "path": path},
        }

    def _assign_tag(self, name: str, tag: str, body: bytes) -> dict[str, Any]:
        payload = self._payload(body, {"hash", "refresh"})
        raw = payload.get("hash")
        if not isinstance(raw, str) or not raw.strip():
            raise Reply(400, "hash required")
        refresh = payload.get("refresh", True)
        entry = self.registry.get(name.lower())
        if entry is None:
            raise Reply(404, "strategy module not found")
        h = raw.strip().lower()
        h = h if h.startswith("sha256:") else "sha256:" + h
        if h not in entry["hashes"]:
            raise Reply(400, f"hash {raw} not found for {name.lower()}")
        previous = entry["tags"].get(tag.strip(), "")
        entry["tags"][tag.strip()] = h
        if refresh and previous.lower() != h:
            self.refreshes.append({"strategies": [name.lower()]})
        return {
            "status": "tag_assigned",
            "strategy": name,
            "tag": tag,
            "hash": raw,
            "previousHash": previous,
            "refresh": refresh,
        }

    def _delete_tag(self, name: str, tag: str, query: dict[str, str]) -> dict[str, Any]:
        allow_orphan = self._flag(query, "allowOrphan")
        entry = self.registry.get(name.lower())
        if entry is None:
            raise Reply(404, "strategy module not found")
        if tag.lower() == "latest":
            raise Reply(400, 'tag "latest" cannot be removed; reassign it instead')
        h = entry["tags"].get(tag)
        if h is None:
            raise Reply(400, f'tag "{tag}" not found for {name.lower()}')
        others = [t for t, target in entry["tags"].items() if target == h and t != tag]
        if not others and not allow_orphan:
            raise Reply(400, f'removing tag "{tag}" would orphan hash {h}')
        del entry["tags"][tag]
        return {"status": "tag_deleted", "strategy": name, "tag": tag, "hash": h, "allowOrphan": allow_orphan}

    def _refresh(self, body: bytes) -> dict[str, Any]:
        payload = self._payload(body, {"hashes", "strategies"})
        hashes = {h.strip() for h in payload.get("hashes") or [] if h.strip()}
        selectors = {s.strip().lower() for s in payload.get("strategies") or [] if s.strip()}
        self.refreshes.append(payload)
        if not hashes and not selectors:
            return {"status": "refreshed"}
        results: list[dict[str, Any]] = []
        matched_hashes: set[str] = set()
        matched_selectors: set[str] = set()
        for spec in self.instances.values():
            hit_hash = spec.hash in hashes
            hit_selector = {spec.selector.lower(), spec.strategy} & selectors
            if not hit_hash and not hit_selector:
                continue
            matched_hashes |= {spec.hash} & hashes
            matched_selectors |= hit_selector
            results.append(
                {
                    "selector": spec.selector,
                    "strategy": spec.strategy,
                    "hash": spec.hash,
                    "previousHash": spec.hash,
                    "instances": [spec.id],
                    "reason": "alreadyPinned",
                }
            )
        results += [
            {"selector": h, "strategy": "", "hash": h, "previousHash": h, "reason": "retired"}
            for h in sorted(hashes - matched_hashes)
        ]
        results += [
            {"selector": s, "strategy": "", "hash": "", "reason": "retired"}
            for s in sorted(selectors - matched_selectors)
        ]
        results.sort(key=lambda r: (r["selector"], r["strategy"]))
        return {"status": "partial_refresh", "results": results or None}

    # -- instances ----------------------------------------------------------------------------------

    def _set_running(self, spec: Instance, running: bool) -> None:
        spec.running = running
        if running:
            self.usage.record_start(spec.strategy, spec.hash, spec.id, at=datetime.now(_LOCAL))
        else:
            self.usage.record_stop(spec.strategy, spec.hash, spec.id, at=datetime.now(_LOCAL))

    def _spec(self, body: bytes) -> Instance:
        """An ``InstanceSpec`` body, resolved as the gateway's ``ensureSpec`` does (compat §8.2)."""
        payload = self._payload(body, {"id", "strategy", "scope"})
        strategy = payload.get("strategy") or {}
        ident = str(payload.get("id") or "").strip()
        identifier = str(strategy.get("identifier") or "").strip()
        scope = payload.get("scope") or {}
        if not ident or not identifier or not scope:
            raise Reply(400, "strategy instance requires id, providers, and strategy")
        try:
            name, h, selector = self._resolve(identifier)
        except Reply as reply:
            raise Reply(400, f'resolve strategy "{identifier}": {reply.body["error"]}') from None
        tag = self.registry[name]["hashes"][h]["tag"]
        symbols = sorted({s.strip().upper() for value in scope.values() for s in value.get("symbols") or []})
        if not symbols:
            raise Reply(400, "strategy instance requires at least one symbol")
        return Instance(
            ident, name, selector, h, tag, False, sorted(scope), symbols, dict(strategy.get("config") or {})
        )

    def _update(self, spec: Instance, body: bytes) -> dict[str, Any]:
        changed = self._spec(body)
        if changed.id != spec.id:
            raise Reply(400, "instance id mismatch")
        if changed.providers != spec.providers:
            raise Reply(400, f"providers are immutable for {spec.id}")
        if changed.strategy != spec.strategy:
            raise Reply(400, f"strategy is immutable for {spec.id}")
        spec.config = changed.config
        return self._snapshot(spec)

    def _snapshot(self, spec: Instance) -> dict[str, Any]:
        summary = self._instance(spec)
        return {
            "id": spec.id,
            "strategy": {
                "identifier": spec.strategy,
                "config": spec.config,
                "selector": spec.selector,
                "tag": spec.tag,
                "hash": spec.hash,
            },
            "scope": {provider: {"symbols": list(spec.symbols)} for provider in spec.providers},
            "providers": summary["providers"],
            "aggregatedSymbols": summary["aggregatedSymbols"],
            "running": spec.running,
            "usage": summary["usage"],
            "links": summary["links"],
        }

    def _trades(
        self, store: dict[str, list[dict[str, Any]]], key: str, ident: str, request: Recorded
    ) -> dict[str, Any]:
        parsed = urllib.parse.parse_qs(request.raw_query)
        records = list(store.get(ident, []))
        if "provider" in request.query:
            records = [r for r in records if r["provider"] == request.query["provider"]]
        if key == "orders" and parsed.get("state"):
            records = [r for r in records if r["state"] in parsed["state"]]
        if key == "executions" and "orderId" in request.query:
            records = [r for r in records if r["orderId"] == request.query["orderId"]]
        limit = self._count(request.query, "limit")
        if limit is not None:
            records = records[:limit]
        return {key: records, "count": len(records)}

    def _delete_module(self, ident: str) -> None:
        """``DELETE /strategies/modules/{selector}`` with the in-use guard (compat §8.7)."""
        if "@" in ident or ":" in ident:
            name, h, _ = self._resolve(ident)
            if any(spec.hash == h for spec in self.instances.values()):
                raise Reply(400, f"strategy revision {h} is in use")
            entry = self.registry[name]
            del entry["hashes"][h]
            entry["tags"] = {t: target for t, target in entry["tags"].items() if target != h}
            if not entry["hashes"]:
                del self.registry[name]
            return
        name = ident.strip().lower()
        if name not in self.registry:
            raise Reply(404, "strategy module not found")
        if any(spec.strategy == name for spec in self.instances.values()):
            raise Reply(400, f"strategy {name} is in use by running instances")
        del self.registry[name]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client gave up first (the timeout tests make it): nothing to report
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    gateway: FakeGateway

    def do_GET(self) -> None:
        self.gateway.handle(self)

    do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""
