"""HTTP client for a live Meltica gateway's control plane (compat §9), on the standard library only.

One :class:`GatewayClient` per gateway. Reads (``GET``) are retried with exponential backoff when the
connection fails (refused, reset, dropped mid-answer, timed out); writes are never retried, because a
dropped write may still have been applied. Every failure raises :class:`GatewayError` with the HTTP
status (0 when the gateway could not be reached) and the URL; its text carries the gateway's own
``error`` message. A 422 from an upload also carries the module's diagnostics, parsed into
:class:`~meltica_lab.jshost.diagnostics.Diagnostic` values on ``error.diagnostics``.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from meltica_lab.errors import GatewayError, SelectorError, UsageError, UsageExportError
from meltica_lab.jshost.diagnostics import Diagnostic
from meltica_lab.usage import UsageExport, UsageRecord, parse_usage_export

__all__ = ["GatewayClient", "RevisionUsage"]

# The gateway's router decodes path parameters; it reads "@" and ":" literally in selectors and
# writes them unescaped in its own links, so they stay readable here too.
_SAFE_IN_SEGMENT = "@:"
_CONNECTION_FAILURES = (urllib.error.URLError, http.client.HTTPException, OSError)


@dataclass(frozen=True)
class RevisionUsage:
    """The answer of ``GET /strategies/modules/{selector}/usage``.

    ``selector`` is the gateway's canonical selector, ``usage`` the revision's usage summary,
    ``instances`` the gateway's instance summaries (running ones unless stopped ones were asked for),
    ``total``/``offset``/``limit`` the paging (``limit`` is ``None`` when unlimited).
    """

    selector: str
    strategy: str
    hash: str
    usage: UsageRecord
    instances: tuple[dict[str, Any], ...]
    total: int
    offset: int
    limit: int | None


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    url: str


def _segment(value: str, what: str) -> str:
    """Path-escape one URL segment; a value the gateway's router cannot route is refused here."""
    if not value.strip() or "/" in value:
        message = f"{what}: expected a non-empty value without '/', got {value!r}"
        if what == "selector":
            raise SelectorError(message, selector=value)
        raise UsageError(message, field=what)
    return urllib.parse.quote(value, safe=_SAFE_IN_SEGMENT)


def _paging(limit: int | None, offset: int | None) -> dict[str, str]:
    query: dict[str, str] = {}
    for name, value in (("limit", limit), ("offset", offset)):
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise UsageError(f"{name}: expected a non-negative integer, got {value!r}", field=name)
        query[name] = str(value)
    return query


@dataclass(frozen=True)
class _Failure:
    """What an error answer says: readable ``text``, the gateway's ``error`` field, ``diagnostics``."""

    text: str
    error: str
    diagnostics: tuple[Diagnostic, ...]


def _diagnostics(raw: Any) -> tuple[Diagnostic, ...]:
    """The well-formed items of a 422 ``diagnostics`` list; a malformed item is left out rather than
    hiding the gateway's answer behind a parse error."""
    found = []
    for item in raw if isinstance(raw, list) else []:
        try:
            found.append(Diagnostic.from_dict(item))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    return tuple(found)


def _failure(body: bytes) -> _Failure:
    """Read an error body: ``{"status":"error","error":…}``, or the 422 form with ``message`` and
    ``diagnostics`` (compat §5.4); anything else (a proxy's HTML page) by its first line."""
    try:
        payload = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        first = text.splitlines()[0][:200] if text else "(empty answer)"
        return _Failure(first, "", ())
    if not isinstance(payload, Mapping):
        return _Failure(json.dumps(payload)[:200], "", ())
    code = str(payload.get("error") or "")
    headline = str(payload.get("message") or "")
    diagnostics = _diagnostics(payload.get("diagnostics"))
    text = f"{headline} ({code})" if headline and code else headline or code or json.dumps(payload)[:200]
    if diagnostics:
        text = f"{text}: " + "; ".join(d.describe() for d in diagnostics)
    return _Failure(text, code, diagnostics)


def _gateway_error(message: str, *, status: int, url: str, failure: _Failure | None = None) -> GatewayError:
    """A :class:`GatewayError` carrying the answer's ``error`` field and diagnostics, if any."""
    return GatewayError(
        message,
        status=status,
        url=url,
        gateway_error=failure.error if failure else "",
        diagnostics=failure.diagnostics if failure else (),
    )


class GatewayClient:
    """A live gateway's control plane at ``base_url`` (e.g. ``http://127.0.0.1:8880``).

    ``timeout`` applies to each attempt; ``retries`` is how many more times a failed read is tried
    (waiting ``backoff``, then twice as long, and so on); ``token`` is sent as a bearer token.
    Selectors are the gateway's: ``name``, ``name:tag``, ``name@sha256:…`` or a bare hash.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        retries: int = 2,
        token: str | None = None,
        backoff: float = 0.25,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise UsageError(f"base_url: expected an http(s):// URL, got {base_url!r}", field="base_url")
        if retries < 0 or timeout <= 0 or backoff < 0:
            raise UsageError(f"expected retries >= 0, timeout > 0, backoff >= 0; got {retries}, {timeout}, {backoff}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._token = token

    def __repr__(self) -> str:
        return f"GatewayClient({self.base_url!r})"

    # -- transport ----------------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, query: Mapping[str, str] | None = None, payload: Any = None
    ) -> _Answer:
        url = self.base_url + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        headers = {"Accept": "application/json"}
        data = None
        if payload is not None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        attempts = 1 + self.retries if method == "GET" else 1
        reason: object = ""
        for attempt in range(attempts):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return _Answer(response.status, response.read(), url)
            except urllib.error.HTTPError as exc:
                try:
                    body = exc.read()
                except _CONNECTION_FAILURES:  # the status arrived, the explanation did not
                    body = b""
                failure = _failure(body)
                raise _gateway_error(
                    f"{method} {url} -> HTTP {exc.code}: {failure.text}", status=exc.code, url=url, failure=failure
                ) from None
            except _CONNECTION_FAILURES as exc:
                reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
                if attempt + 1 < attempts:
                    time.sleep(self.backoff * 2**attempt)
        if method == "GET":
            detail = f"after {attempts} attempt{'s' if attempts > 1 else ''}"
        else:
            detail = f"not retried: the {method} may have been applied"
        raise _gateway_error(f"{method} {url}: gateway unreachable ({detail}): {reason}", status=0, url=url)

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A request whose answer must be a JSON object."""
        answer = self._request(method, path, **kwargs)
        try:
            value = json.loads(answer.body)
        except ValueError as exc:
            problem = f"not JSON ({exc})"
        else:
            if isinstance(value, dict):
                return value
            problem = f"JSON {type(value).__name__}"
        raise _gateway_error(
            f"{method} {answer.url} -> HTTP {answer.status}: expected a JSON object, got {problem}",
            status=answer.status,
            url=answer.url,
        )

    @staticmethod
    def _module_path(selector: str, suffix: str = "") -> str:
        return f"/strategies/modules/{_segment(selector, 'selector')}{suffix}"

    # -- modules ------------------------------------------------------------------------------------

    def modules(
        self,
        strategy: str | None = None,
        hash: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> dict[str, Any]:
        """``GET /strategies/modules``: ``{"modules": [...], "total", "offset", "limit"?, "strategyDirectory"}``.

        ``strategy`` and ``hash`` filter (case-insensitive exact match); ``limit``/``offset`` page.
        """
        query = _paging(limit, offset)
        if strategy:
            query["strategy"] = strategy
        if hash:
            query["hash"] = hash
        return self._object("GET", "/strategies/modules", query=query)

    def module(self, selector: str) -> dict[str, Any]:
        """``GET /strategies/modules/{selector}``: the summary with that revision selected."""
        return self._object("GET", self._module_path(selector))

    def module_source(self, selector: str) -> bytes:
        """``GET /strategies/modules/{selector}/source``: the module file's bytes, unchanged."""
        return self._request("GET", self._module_path(selector, "/source")).body

    def usage(
        self,
        selector: str,
        include_stopped: bool = False,
        limit: int | None = None,
        offset: int | None = None,
    ) -> RevisionUsage:
        """``GET /strategies/modules/{selector}/usage``: the revision's usage and the instances on it."""
        query = _paging(limit, offset)
        if include_stopped:
            query["includeStopped"] = "true"
        path = self._module_path(selector, "/usage")
        body = self._object("GET", path, query=query)
        url = self.base_url + path
        try:
            instances = body.get("instances") or []
            limit_value = body.get("limit")
            return RevisionUsage(
                selector=str(body["selector"]),
                strategy=str(body["strategy"]),
                hash=str(body["hash"]),
                usage=UsageRecord.from_dict(body["usage"]),
                instances=tuple(dict(item) for item in instances),
                total=int(body["total"]),
                offset=int(body["offset"]),
                limit=None if limit_value is None else int(limit_value),
            )
        except (KeyError, TypeError, ValueError, UsageExportError) as exc:
            raise _gateway_error(f"GET {url}: unexpected usage answer: {exc}", status=200, url=url) from None

    def registry_export(self) -> UsageExport:
        """``GET /strategies/registry``: the registry as the gateway reads it now, plus its usage index."""
        answer = self._request("GET", "/strategies/registry")
        return parse_usage_export(bytearray(answer.body), source=answer.url)

    def upload(self, source: str | bytes) -> dict[str, Any]:
        """``POST /strategies/modules``: store a new revision (tag from its metadata, ``latest`` moves).

        The answer is ``{"status": "pending_refresh", "strategyDirectory", "module": {...}}``; the code is
        live after a refresh. An invalid module raises :class:`GatewayError` with status 422 and its
        ``diagnostics``.
        """
        if isinstance(source, bytes):
            try:
                source = source.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UsageError(f"source: expected UTF-8 text ({exc})", field="source") from None
        return self._object("POST", "/strategies/modules", payload={"source": source})

    # -- tags ---------------------------------------------------------------------------------------

    def _tag_path(self, name: str, tag: str) -> str:
        return f"/strategies/modules/{_segment(name, 'name')}/tags/{_segment(tag, 'tag')}"

    def assign_tag(self, name: str, tag: str, hash: str, refresh: bool = True) -> dict[str, Any]:
        """``PUT /strategies/modules/{name}/tags/{tag}``: point ``tag`` at ``hash``.

        With ``refresh`` the gateway re-resolves every instance of the strategy when the hash changed.
        Answer: ``{"status": "tag_assigned", "strategy", "tag", "hash", "previousHash", "refresh"}``.
        """
        return self._object("PUT", self._tag_path(name, tag), payload={"hash": hash, "refresh": refresh})

    def delete_tag(self, name: str, tag: str, allow_orphan: bool = False) -> dict[str, Any]:
        """``DELETE /strategies/modules/{name}/tags/{tag}``: remove an alias (never ``latest``).

        Refused unless another tag still points at the hash, or ``allow_orphan``. Answer:
        ``{"status": "tag_deleted", "strategy", "tag", "hash", "allowOrphan"}``.
        """
        query = {"allowOrphan": "true"} if allow_orphan else None
        return self._object("DELETE", self._tag_path(name, tag), query=query)

    # -- instances and refresh ----------------------------------------------------------------------

    def instances(self) -> list[dict[str, Any]]:
        """``GET /strategy/instances``: every instance summary, sorted by id."""
        body = self._object("GET", "/strategy/instances")
        items = body.get("instances") or []
        return [dict(item) for item in items]

    def instance(self, instance_id: str) -> dict[str, Any]:
        """``GET /strategy/instances/{id}``: one instance snapshot."""
        return self._object("GET", f"/strategy/instances/{_segment(instance_id, 'instance_id')}")

    def refresh(self, hashes: Iterable[str] = (), strategies: Iterable[str] = ()) -> list[dict[str, Any]]:
        """``POST /strategies/refresh``: reload modules and re-resolve instances.

        With no ``hashes`` and no ``strategies`` it is a full refresh and returns ``[]``; otherwise it
        is targeted and returns the gateway's ``RefreshResult`` records (one per instance, reasons
        ``refreshed`` / ``alreadyPinned`` / ``retired``).
        """
        targets = {"hashes": list(hashes), "strategies": list(strategies)}
        payload = {key: value for key, value in targets.items() if value}
        body = self._object("POST", "/strategies/refresh", payload=payload)
        return [dict(item) for item in body.get("results") or []]
