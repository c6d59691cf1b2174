"""HTTP to one gateway, over `httpx <https://www.python-httpx.org>`_: one pooled connection per
client, separate connect and read timeouts, retries of reads, and error answers as :class:`GatewayError`.

Reads (``GET``) are sent again, after ``backoff``, then twice as long and so on, when the connection
fails (refused, reset, dropped mid-answer, timed out) or the answer is 502, 503 or 504 (a proxy in
front of a restarting gateway). Writes are sent once: a write whose answer was lost may have been
applied, and sending it again could apply it twice.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from meltica_lab.errors import GatewayError, UsageError
from meltica_lab.jshost.diagnostics import Diagnostic

__all__ = ["RETRIED_STATUSES", "Answer", "Transport"]

RETRIED_STATUSES = frozenset({502, 503, 504})
"""Answers after which a read is tried again: a proxy could not reach the gateway just then."""

# Failures of the connection itself, worth another try for a read. Others (a bad header value the
# caller gave, an unsupported scheme) would fail the same way again.
_RETRIED_FAILURES = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError)
_SHOWN = 200


@dataclass(frozen=True)
class Answer:
    """A 2xx answer: the request's ``method`` and ``url``, the ``status``, ``content_type`` and ``body``."""

    method: str
    url: str
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class _Failure:
    """What an error answer says: readable ``text``, the contract's ``error`` and ``details``, and the
    422 ``diagnostics``."""

    text: str
    error: str
    details: Mapping[str, Any]
    diagnostics: tuple[Diagnostic, ...]


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


def _diagnostics(raw: Any) -> tuple[Diagnostic, ...]:
    """The well-formed items of a 422 ``diagnostics`` list; a malformed item is left out rather than
    hiding the gateway's answer behind a parse error."""
    found = []
    for item in raw if isinstance(raw, list) else []:
        try:
            found.append(Diagnostic.from_dict(item))
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(found)


def read_failure(body: bytes) -> _Failure:
    """Read an error body: the contract's ``{"error", "details"}``, the gateway's own
    ``{"status": "error", "error"}``, or its 422 form with ``message`` and ``diagnostics`` (compat §5.4;
    diagnostics are also looked for under ``details``); anything else, such as a proxy's HTML page,
    by its first line."""
    try:
        payload = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        first = _printable(text.splitlines()[0][:_SHOWN]) if text else "(empty answer)"
        return _Failure(first, "", {}, ())
    if not isinstance(payload, Mapping):
        return _Failure(_printable(json.dumps(payload)[:_SHOWN]), "", {}, ())
    code = payload.get("error")
    code = code if isinstance(code, str) else ""
    details = payload.get("details")
    details = details if isinstance(details, Mapping) else {}
    headline = payload.get("message")
    headline = headline if isinstance(headline, str) else ""
    diagnostics = _diagnostics(payload.get("diagnostics", details.get("diagnostics")))
    text = f"{headline} ({code})" if headline and code else headline or code
    if diagnostics:
        text = f"{text}: " + "; ".join(d.describe() for d in diagnostics)
    elif details:
        shown = json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)
        text = f"{text} (details: {shown[:_SHOWN]}{'...' if len(shown) > _SHOWN else ''})"
    if not text.strip():
        text = json.dumps(payload, ensure_ascii=False)[:_SHOWN]
    return _Failure(_printable(" ".join(text.split())), code, dict(details), diagnostics)


def _plural(count: int) -> str:
    return f"{count} attempt{'s' if count != 1 else ''}"


class Transport:
    """Sends requests to ``base_url``; see the module docstring for retries and the :class:`GatewayClient`
    docstring for the options."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        connect_timeout: float | None,
        retries: int,
        backoff: float,
        token: str | None,
        headers: Mapping[str, str] | None,
        transport: httpx.BaseTransport | None,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or not parsed.hostname:
            raise UsageError(f"base_url: expected an http(s):// URL, got {base_url!r}", field="base_url")
        numbers = (retries, timeout, backoff, connect_timeout if connect_timeout is not None else timeout)
        if any(isinstance(n, bool) or not isinstance(n, int | float) for n in numbers):
            raise UsageError(f"retries, timeout, connect_timeout, backoff: expected numbers, got {numbers}")
        if not isinstance(retries, int) or retries < 0 or timeout <= 0 or backoff < 0 or numbers[3] <= 0:
            raise UsageError(
                "expected retries >= 0 (a whole number), timeout > 0, connect_timeout > 0, backoff >= 0; "
                f"got {retries}, {timeout}, {connect_timeout}, {backoff}"
            )
        sent: dict[str, str] = {}
        for name, value in (headers or {}).items():
            if not isinstance(name, str) or not isinstance(value, str) or "\n" in value or "\r" in value:
                raise UsageError(f"headers: expected one-line text names and values, got {name!r}: {value!r}")
            sent[name] = value
        if token is not None:
            if not isinstance(token, str) or not token.strip() or any(c in token for c in "\r\n"):
                raise UsageError("token: expected a non-empty one-line string", field="token")
            sent["Authorization"] = f"Bearer {token}"
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retries = retries
        self.backoff = backoff
        self._client = httpx.Client(
            # Requests only ever go to base_url (redirects are not followed), so a plain http://
            # gateway never opens TLS: skip loading the CA bundle, which costs ~0.1 s per client.
            verify=parsed.scheme == "https",
            headers=sent,
            timeout=httpx.Timeout(timeout, connect=connect_timeout if connect_timeout is not None else timeout),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()

    def url(self, path: str, query: Sequence[tuple[str, str]] = ()) -> str:
        """The full URL of an already escaped ``path`` with its query."""
        return self.base_url + path + (f"?{urllib.parse.urlencode(list(query))}" if query else "")

    def send(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        accept: str | None = None,
        payload: Any = None,
        retry: bool = False,
    ) -> Answer:
        """Send one request (more when ``retry`` and it fails as described above); a non-2xx answer or
        an unreachable gateway raises :class:`GatewayError`."""
        url = self.url(path, query)
        headers = {"Accept": accept or "application/json"}
        content = None
        if payload is not None:
            content = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        attempts = 1 + self.retries if retry else 1
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._client.request(method, url, content=content, headers=headers)
            except _RETRIED_FAILURES as exc:
                if attempt < attempts:
                    time.sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                raise self._unreachable(method, url, attempts, exc) from None
            except httpx.HTTPError as exc:
                raise GatewayError(f"{method} {url}: request failed: {exc}", status=0, url=url, method=method) from None
            status = response.status_code
            if status in RETRIED_STATUSES and attempt < attempts:
                time.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            if 200 <= status < 300:
                return Answer(method, url, status, response.headers.get("content-type", ""), response.content)
            failure = read_failure(response.content)
            after = f" (after {_plural(attempts)})" if status in RETRIED_STATUSES and attempts > 1 else ""
            raise GatewayError(
                f"{method} {url} -> HTTP {status}{after}: {failure.text}",
                status=status,
                url=url,
                method=method,
                gateway_error=failure.error,
                details=failure.details,
                diagnostics=failure.diagnostics,
            )

    @staticmethod
    def _unreachable(method: str, url: str, attempts: int, exc: Exception) -> GatewayError:
        reason = _printable(str(exc)) or type(exc).__name__
        detail = f"after {_plural(attempts)}" if method == "GET" else f"not retried: the {method} may have been applied"
        return GatewayError(
            f"{method} {url}: gateway unreachable ({detail}): {reason}", status=0, url=url, method=method
        )
