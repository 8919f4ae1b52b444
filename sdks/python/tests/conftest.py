"""Fixtures: a real contactd on a random port with a scratch SQLite database, clients
of both kinds, and a fault-injecting proxy in front of the server.

The binary is `CONTACTD_BIN`, else `../../target/debug/contactd` relative to the SDK
directory. Every test that takes `api` or `connect` runs twice: with `Client` and with
`AsyncClient` (driven through `Blocking`, so one scenario checks both).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from contactd import AsyncClient, Client

from _proxy import FaultProxy

SDK_DIR = Path(__file__).resolve().parents[1]


def contactd_binary() -> Path:
    path = Path(os.environ.get("CONTACTD_BIN", "../../target/debug/contactd"))
    if not path.is_absolute():
        path = (SDK_DIR / path).resolve()
    if not os.access(path, os.X_OK):
        pytest.fail(f"no contactd binary at {path}: build it or set CONTACTD_BIN", pytrace=False)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    key: str
    database: str
    binary: Path

    def new_key(self, workspace: str) -> str:
        """A key of a new workspace: a tenant of its own, empty."""
        return create_key(self.binary, self.database, workspace)


def create_key(binary: Path, database: str, workspace: str) -> str:
    out = subprocess.run(
        [str(binary), "keys", "create", "--workspace", workspace, "--database", database],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def start_server(workdir: Path, *extra_args: str) -> tuple[Server, subprocess.Popen[bytes]]:
    binary = contactd_binary()
    database = f"sqlite://{workdir}/contactd.db"
    key = create_key(binary, database, "sdk")
    port = free_port()
    log = open(workdir / "server.log", "wb")
    process = subprocess.Popen(
        [str(binary), "serve", "--listen", f"127.0.0.1:{port}", "--database", database, *extra_args],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(
                "contactd did not start:\n" + (workdir / "server.log").read_text()[-3000:], pytrace=False
            )
        time.sleep(0.05)
    return Server(url=url, key=key, database=database, binary=binary), process


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv, process = start_server(tmp_path_factory.mktemp("contactd"))
    yield srv
    stop_server(process)


@pytest.fixture(scope="session")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that lets a key send one request at once and one more a second."""
    srv, process = start_server(
        tmp_path_factory.mktemp("contactd-limited"), "--rate-limit-per-second", "1", "--rate-limit-burst", "1"
    )
    yield srv
    stop_server(process)


@pytest.fixture(scope="session")
def webhook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that may deliver webhooks to loopback, where the tests receive them."""
    srv, process = start_server(tmp_path_factory.mktemp("contactd-webhooks"), "--webhook-allow-private")
    yield srv
    stop_server(process)


@pytest.fixture
def proxy(server: Server) -> Iterator[FaultProxy]:
    with FaultProxy(server.url) as p:
        yield p


class Blocking:
    """An `AsyncClient` (or one of its resources) seen through blocking calls: each
    coroutine runs to its end on the test's event loop, each async iterator is read one
    item at a time as a plain iterator. Lets one test body check both clients."""

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if type(value).__module__ == "contactd.async_client":
            return Blocking(value, self._loop)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            if inspect.iscoroutine(result):
                return self._loop.run_until_complete(result)
            if hasattr(result, "__anext__"):
                return self._iterate(result)
            return result

        return call

    def _iterate(self, items: Any) -> BlockingIterator:
        return BlockingIterator(items, self._loop)


class BlockingIterator:
    """An async iterator read as a plain one; its other attributes (an event feed's
    `cursor`) show through."""

    def __init__(self, items: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._items = items
        self._loop = loop

    def __iter__(self) -> BlockingIterator:
        return self

    def __next__(self) -> Any:
        try:
            return self._loop.run_until_complete(self._items.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._items, name)


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def connect(kind: str, server: Server):
    """`connect(**kwargs)`: a client of the test's kind (the test server and its key
    unless `base_url`/`api_key` say otherwise), closed after the test."""
    yield from _connect(kind, server)


def _connect(kind: str, server: Server):
    loop = asyncio.new_event_loop() if kind == "async" else None
    made: list[Any] = []

    def make(**kwargs: Any) -> Any:
        kwargs.setdefault("api_key", server.key)
        kwargs.setdefault("base_url", server.url)
        if kind == "sync":
            client = Client(**kwargs)
            made.append(client)
            return client
        client = AsyncClient(**kwargs)
        made.append(client)
        return Blocking(client, loop)

    yield make
    for client in made:
        if loop is None:
            client.close()
        else:
            loop.run_until_complete(client.close())
    if loop is not None:
        loop.close()


@pytest.fixture
def api(connect):
    return connect()


_numbers = itertools.count(1)


class Unique:
    """Values no other test uses: phones, emails, a marker for metadata filters."""

    def __init__(self) -> None:
        self.marker = "t" + uuid.uuid4().hex[:12]

    def phone(self) -> str:
        return f"+1555{next(_numbers):07d}"

    def email(self) -> str:
        return f"{self.marker}.{next(_numbers)}@example.com"


@pytest.fixture
def unique() -> Unique:
    return Unique()
