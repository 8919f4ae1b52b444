"""A loopback HTTP proxy in front of the test server that plays scripted faults, for the
retry tests: each request takes the next action of the script (then `forward`), and
every request is recorded with what the server answered to it."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class Action:
    """What the proxy does with one request.

    `forward`: pass it on and answer with the server's answer. `status`: answer `status`
    with `body` and `headers` itself, after first passing the request on when `forward`
    is set (the server acts, the client never hears). `drop`: close the connection
    without an answer."""

    kind: str = "forward"
    status: int = 0
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    forward: bool = False


FORWARD = Action()
DROP = Action("drop")


def unavailable(retry_after: str | None = "0", forward: bool = False) -> Action:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {
        "error": "unavailable",
        "message": "The database is unavailable; retry shortly",
        "code": 503,
        "details": {},
    }
    return Action("status", 503, body, headers, forward)


def rate_limited(retry_after: str) -> Action:
    body = {"error": "rate_limited", "message": "Too many requests", "code": 429, "details": {}}
    return Action("status", 429, body, {"Retry-After": retry_after})


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Action:
    return Action("status", status, body, headers or {})


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    upstream_status: int | None = None
    upstream_headers: dict[str, str] = field(default_factory=dict)


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.script: list[Action] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._http = httpx.Client(base_url=upstream, timeout=30)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    def play(self, *actions: Action) -> None:
        with self._lock:
            self.script.extend(actions)

    def requests(self, method: str | None = None) -> list[Seen]:
        return [s for s in self.seen if method is None or s.method == method]

    def _next(self) -> Action:
        with self._lock:
            return self.script.pop(0) if self.script else FORWARD

    def _handler(proxy) -> type[BaseHTTPRequestHandler]:  # noqa: N805 - the proxy, seen from its handler
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with proxy._lock:
                    proxy.seen.append(seen)
                action = proxy._next()
                if action.kind == "drop":
                    self.close_connection = True
                    return
                if action.kind == "forward" or action.forward:
                    upstream = proxy._forward(self.command, self.path, self.headers, body)
                    seen.upstream_status = upstream.status_code
                    seen.upstream_headers = dict(upstream.headers)
                    if action.kind == "forward":
                        self._reply(upstream.status_code, upstream.content, upstream.headers)
                        return
                self._reply(
                    action.status,
                    json.dumps(action.body).encode() if not isinstance(action.body, bytes) else action.body,
                    {"Content-Type": "application/json", **action.headers},
                )

            def _reply(self, status: int, content: bytes, headers: Any) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in (
                        "content-length",
                        "connection",
                        "transfer-encoding",
                        "date",
                        "server",
                    ):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = handle_one

        return Handler

    def _forward(self, method: str, path: str, headers: Any, body: bytes) -> httpx.Response:
        passed = {
            k: v for k, v in headers.items() if k.lower() not in ("host", "content-length", "connection")
        }
        return self._http.request(method, path, headers=passed, content=body)
