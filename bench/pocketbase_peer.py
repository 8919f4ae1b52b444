"""The PocketBase peer: a scratch data directory with a `contacts` collection shaped like
contactd's contacts (unique phone and email, names, JSON metadata, created/updated
times), open to anonymous list, view and create so wrk needs no token, and the benchmark
dataset loaded into it.

The collection is created through PocketBase's own API (so its table and indexes are
PocketBase's), then the rows are written straight into its SQLite file while it is
stopped: loading 1M records through its HTTP API would take longer than the benchmark.
"""

import csv
import http.client
import json
import random
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

SUPERUSER = ("bench@bench.example", "bench-superuser-password")
ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


class PocketBase:
    def __init__(self, binary: Path, data_dir: Path, port: int):
        self.binary = binary
        self.data_dir = data_dir
        self.port = port

    def serve_argv(self):
        return [str(self.binary), "serve", "--http", f"127.0.0.1:{self.port}",
                *self.common_flags()]

    def common_flags(self):
        # Without --automigrate=false PocketBase writes a migration file for the new
        # collection beside the data directory, and replays it on the next fresh start.
        return ["--dir", str(self.data_dir), "--automigrate=false",
                "--migrationsDir", str(self.data_dir / "migrations")]

    def prepare(self, csv_path: Path, rows: int) -> dict:
        """A fresh data directory with the collection and `rows` contacts of the CSV."""
        shutil.rmtree(self.data_dir, ignore_errors=True)
        subprocess.run([str(self.binary), "superuser", "upsert", *SUPERUSER,
                        *self.common_flags()], check=True, capture_output=True)
        server = subprocess.Popen(self.serve_argv(), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            self._wait_ready()
            token = self._call("POST", "/api/collections/_superusers/auth-with-password",
                               {"identity": SUPERUSER[0], "password": SUPERUSER[1]})["token"]
            self._call("POST", "/api/collections", COLLECTION, token)
        finally:
            server.terminate()
            server.wait(timeout=20)
        return self._load(csv_path, rows)

    def _load(self, csv_path: Path, rows: int) -> dict:
        started = time.perf_counter()
        rng = random.Random(rows)
        now = time.strftime("%Y-%m-%d %H:%M:%S.000Z", time.gmtime())
        ids = []

        def records():
            with open(csv_path, newline="") as f:
                for n, row in enumerate(csv.DictReader(f)):
                    if n == rows:
                        return
                    record_id = "".join(rng.choices(ID_ALPHABET, k=15))
                    ids.append(record_id)
                    metadata = {k[len("metadata."):]: v for k, v in row.items()
                                if k.startswith("metadata.")}
                    yield (record_id, row["phone"], row["email"], row["first_name"],
                           row["last_name"], json.dumps(metadata, separators=(",", ":")),
                           now, now)

        db = sqlite3.connect(self.data_dir / "data.db")
        with db:
            db.executemany(
                "INSERT INTO contacts (id, phone, email, first_name, last_name, metadata,"
                " created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", records())
        db.close()
        seconds = time.perf_counter() - started
        return {"rows": len(ids), "seconds": round(seconds, 2),
                "rows_per_s": round(len(ids) / seconds),
                "method": "rows written into PocketBase's SQLite file while it is stopped",
                "ids": ids}

    def _wait_ready(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._call("GET", "/api/health")
                return
            except (OSError, RuntimeError):
                time.sleep(0.05)
        raise RuntimeError("PocketBase did not start")

    def _call(self, method, path, body=None, token=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = token
        try:
            conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            response = conn.getresponse()
            text = response.read()
        finally:
            conn.close()
        if response.status >= 300:
            raise RuntimeError(f"PocketBase {method} {path}: {response.status} {text[:300]!r}")
        return json.loads(text or b"null")


COLLECTION = {
    "name": "contacts",
    "type": "base",
    # "" is PocketBase's "anyone": wrk calls without a token, as it calls contactd with a
    # key that the server checks on every request.
    "listRule": "",
    "viewRule": "",
    "createRule": "",
    "fields": [
        {"name": "phone", "type": "text", "required": False},
        {"name": "email", "type": "email", "required": False},
        {"name": "first_name", "type": "text"},
        {"name": "last_name", "type": "text"},
        {"name": "metadata", "type": "json", "maxSize": 16384},
        {"name": "created", "type": "autodate", "onCreate": True},
        {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
    ],
    "indexes": [
        "CREATE UNIQUE INDEX idx_contacts_phone ON contacts (phone)",
        "CREATE UNIQUE INDEX idx_contacts_email ON contacts (email)",
    ],
}
