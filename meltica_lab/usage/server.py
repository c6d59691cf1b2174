"""A minimal metrics endpoint: Prometheus text at ``/metrics`` from a daemon thread."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable
from typing import Any

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

__all__ = ["serve_metrics"]


def serve_metrics(text: Callable[[], str], port: int, addr: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """Serve ``text()`` at ``http://addr:port/metrics`` (and ``/``) from a daemon thread.

    Always the classic text format: its counter family is ``…_total``, so it does not clash with a
    gauge of the same base name, as it would in OpenMetrics. ``port=0`` picks a free port (see
    ``server.server_address``); stop with ``server.shutdown(); server.server_close()``.
    """

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] not in ("/", "/metrics"):
                self.send_error(404, "only /metrics is served here")
                return
            body = text().encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Scrapes are routine; keep them out of stderr."""

    server = http.server.ThreadingHTTPServer((addr, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="usage-metrics", daemon=True).start()
    return server
