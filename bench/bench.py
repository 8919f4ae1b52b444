"""The benchmark driver that `bench/run` starts once the binaries are built.

For each backend and dataset size it loads the contacts into a fresh database with
`contactd import` (the import scenario), starts `contactd serve` on it (start-to-ready
time), and runs every scenario for a fixed time with wrk, sampling the server's peak RSS
and CPU time around each run. In the same run it measures the constant-JSON ceiling and
PocketBase on the same data size. It prints a table, checks the targets of issue 13, and
writes results/latest.json and the chart.
"""

import argparse
import contextlib
import csv
import datetime
import http.client
import json
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import chart
import gen_dataset
import pocketbase_peer

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
WORK = DATA / "run"
RESULTS = BENCH / "results"
WRK_DIR = BENCH / "wrk"
CONTACTD = ROOT / "target" / "release" / "contactd"
CEILING = BENCH / "ceiling" / "target" / "release" / "contactd-bench-ceiling"

CONTACTD_ADDR = ("127.0.0.1", 18080)
CEILING_ADDR = ("127.0.0.1", 18099)
RECEIVER_ADDR = ("127.0.0.1", 18098)
POSTGRES_ADMIN = ["psql", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-d", "postgres",
                  "-v", "ON_ERROR_STOP=1", "-q", "-c"]
POSTGRES_DB = "contactd_bench"
WORKSPACE = "bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Scenarios in the order they run against one server: reads first, on the imported data;
# then the conversations are created and read; writes last.
READS = ["get_by_id", "get_by_phone", "get_by_email", "list_filter"]
WRITES = ["put_merge", "create", "mixed"]
GETS = ["get_by_id", "get_by_phone", "get_by_email", "conversations"]
# Contacts per request of the batch scenario.
BATCH_SIZE = 100
# Alternating runs of each write scenario without and with a webhook endpoint (issue 16).
WEBHOOK_PAIRS = 4

# Search at scale (issue 10): the first page (limit 20, no total: a search box pages by
# cursor) of filters of known selectivity in gen_dataset.py, in creation order and by
# -updated_at; then a count, a segment walk and a segment export.
FIRST_PAGE = "limit=20&include_total=false"
SEARCHES = {
    "search_25": "metadata.plan=premium",
    "search_2": "metadata.tier=t7",
    "search_001": "metadata.cohort=c77",
    "search_q": "q=ada%20lov",
    "search_combined": "metadata.plan=premium&metadata.region=eu-west-1&q=grace",
}
COUNT_25 = "/v2/contact/count?metadata.plan=premium"
SEGMENT_FILTER = {"metadata.plan": "premium"}


def parse_size(label: str) -> int:
    label = label.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(label[-1], 1)
    return int(float(label.rstrip("km")) * factor)


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------- processes

class Server:
    """A server process we started: its readiness, peak RSS and CPU time, and its stop."""

    def __init__(self, name, argv, ready_url, env=None):
        self.name = name
        self.started = time.perf_counter()
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, env=env)
        self.ready_ms = wait_ready(self.process, ready_url, self.started)

    @property
    def pid(self):
        return self.process.pid

    def status(self, field: str) -> int:
        """A /proc/PID/status figure in kB (VmHWM, VmRSS)."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def reset_peak_rss(self) -> None:
        # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def wait_idle(self, database_cpu=None, timeout=60.0) -> None:
        """Waits until the server (and its database) stop spending CPU: requests of the
        previous run that wrk gave up on may still be running, and would slow the next."""
        def cpu():
            return self.cpu_seconds() + (database_cpu() if database_cpu else 0)

        deadline = time.monotonic() + timeout
        before = cpu()
        while time.monotonic() < deadline:
            time.sleep(0.25)
            now = cpu()
            if now - before < 0.02:
                return
            before = now

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def postgres_cpu_seconds() -> float:
    """CPU time of all PostgreSQL server processes (backends, autovacuum, WAL writer)."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if "(postgres)" in stat:
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def wait_ready(process, url, started, timeout=120.0) -> float:
    """Milliseconds from `started` until GET url answers 200."""
    host, port, path = url
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode} before "
                               f"it was ready: run it by hand to see why: {' '.join(map(str, process.args))}")
        try:
            conn = http.client.HTTPConnection(host, port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return (time.perf_counter() - started) * 1000
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.002)
    raise RuntimeError(f"{process.args[0]} was not ready after {timeout} s")


def port_free(addr) -> bool:
    with socket.socket() as s:
        return s.connect_ex(addr) != 0


def run(argv, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise RuntimeError(f"failed ({result.returncode}): {' '.join(map(str, argv))}")
    return result


# ---------------------------------------------------------------------------------- wrk

class Wrk:
    def __init__(self, settings):
        self.connections = settings.connections
        self.threads = settings.threads
        self.duration = settings.duration
        self.timeout = settings.timeout

    def run(self, name, addr, script, args, headers=(), duration=None, server=None,
            database_cpu=None):
        """Runs wrk with bench/wrk/SCRIPT; returns its figures and the server's."""
        duration = duration or self.duration
        argv = ["wrk", f"-t{self.threads}", f"-c{self.connections}", f"-d{duration}s",
                f"--timeout={self.timeout}s", "--latency", "-s", str(WRK_DIR / script)]
        for h in headers:
            argv += ["-H", h]
        argv += [f"http://{addr[0]}:{addr[1]}", "--"] + [f"{k}={v}" for k, v in args.items()]
        if server:
            server.wait_idle(database_cpu)
            server.reset_peak_rss()
            cpu_before = server.cpu_seconds()
        if database_cpu:
            database_before = database_cpu()
        out = run(argv).stdout
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{name}.log").write_text(" ".join(argv) + "\n\n" + out)
        line = next(l for l in out.splitlines() if l.startswith("BENCH_JSON "))
        raw = json.loads(line[len("BENCH_JSON "):])
        seconds = raw["duration_us"] / 1e6
        errors = sum(raw["errors"].values())
        figures = {
            "requests": raw["requests"],
            "rps": round(raw["requests"] / seconds, 1),
            "p50_ms": raw["latency_us"]["p50"] / 1000,
            "p90_ms": raw["latency_us"]["p90"] / 1000,
            "p99_ms": raw["latency_us"]["p99"] / 1000,
            "max_ms": raw["latency_us"]["max"] / 1000,
            "errors": errors,
            "error_kinds": raw["errors"],
            "seconds": round(seconds, 2),
        }
        if server:
            figures["server_peak_rss_mb"] = round(server.status("VmHWM") / 1024, 1)
            figures["server_cpu_cores"] = round((server.cpu_seconds() - cpu_before) / seconds, 2)
        if database_cpu:
            figures["database_cpu_cores"] = round((database_cpu() - database_before) / seconds, 2)
        return figures


# ----------------------------------------------------------------------------- backends

def fresh_database(backend: str, size: int) -> str:
    """A URL of an empty database for contactd."""
    if backend == "sqlite":
        path = WORK / f"contactd-{size_label(size)}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite://{path}"
    drop_postgres()
    run(POSTGRES_ADMIN + [f'CREATE DATABASE "{POSTGRES_DB}"'])
    return f"postgres://postgres@127.0.0.1:5432/{POSTGRES_DB}"


def drop_database(url: str) -> None:
    if url.startswith("sqlite://"):
        for suffix in ("", "-wal", "-shm"):
            Path(url[len("sqlite://"):] + suffix).unlink(missing_ok=True)
    else:
        drop_postgres()


def drop_postgres() -> None:
    run(POSTGRES_ADMIN + [f'DROP DATABASE IF EXISTS "{POSTGRES_DB}" WITH (FORCE)'])


def database_bytes(url: str) -> int:
    if url.startswith("sqlite://"):
        path = url[len("sqlite://"):]
        return sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))
    out = run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", POSTGRES_DB, "-Atc",
               "SELECT pg_database_size(current_database())"]).stdout
    return int(out.strip())


def create_key(url: str) -> str:
    out = run([CONTACTD, "keys", "create", "--workspace", WORKSPACE, "--mode", "live",
               "--database", url]).stdout
    return out.strip().splitlines()[-1].strip()


def import_contacts(url: str, csv_path: Path) -> dict:
    started = time.perf_counter()
    out = run([CONTACTD, "import", str(csv_path), "--workspace", WORKSPACE, "--data-mode",
               "live", "--mode", "create", "--database", url, "--output", "json",
               "--rejected", str(WORK / "import.rejected.ndjson")]).stdout
    wall = time.perf_counter() - started
    summary = json.loads(out.strip().splitlines()[-1])
    rows, seconds = summary["imported"], float(summary["seconds"])
    if summary["rejected"]:
        raise RuntimeError(f"the import rejected rows: {summary}")
    return {"rows": rows, "seconds": seconds, "rows_per_s": round(rows / seconds),
            "wall_seconds": round(wall, 2), "summary": summary}


def write_refs(url: str, size: int) -> dict:
    """Writes the contacts' ids, phones and emails, each list shuffled, one per line.

    Read straight from the database: `contactd export` would do, but its paging takes
    minutes for 1M contacts on PostgreSQL."""
    # The dataset's phones are +12…; contacts a write scenario created are +19….
    query = "SELECT id, phone, email FROM contacts WHERE phone < '+13'"
    if url.startswith("sqlite://"):
        db = sqlite3.connect(url[len("sqlite://"):])
        rows = db.execute(query).fetchall()
        db.close()
    else:
        out = run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", POSTGRES_DB, "-Atc",
                   f"COPY ({query}) TO STDOUT WITH CSV"]).stdout
        rows = list(csv.reader(out.splitlines()))
    if len(rows) != size:
        raise RuntimeError(f"found {len(rows)} contacts, expected {size}")
    ids = [r[0] for r in rows]
    phones = [r[1].replace("+", "%2B") for r in rows]
    emails = [r[2] for r in rows]
    files = {}
    for name, refs in (("ids", ids), ("phones", phones), ("emails", emails)):
        random.Random(name).shuffle(refs)
        files[name] = WORK / f"{name}.txt"
        files[name].write_text("\n".join(refs) + "\n")
    files["id_list"] = ids
    return files


def create_conversations(key: str, contact_ids, per_contact=3) -> None:
    """Gives each of these contacts a few conversations, over the API."""
    channels = ["sms", "whatsapp", "email", "instagram"]

    def worker(chunk):
        conn = http.client.HTTPConnection(*CONTACTD_ADDR, timeout=30)
        for contact_id in chunk:
            for i in range(per_contact):
                body = json.dumps({"contact_id": contact_id, "channel": channels[i % 4]})
                conn.request("POST", "/v2/conversation", body,
                             {"X-API-Key": key, "Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                if response.status != 201:
                    raise RuntimeError(f"creating a conversation answered {response.status}")
        conn.close()

    chunks = [contact_ids[i::8] for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, chunks))


def bench_contactd(backend, size, csv_path, settings, wrk, results):
    global POSTGRES_DB
    label = size_label(size)
    reuse = backend == "postgres" and settings.reuse_postgres
    if reuse:
        # A database loaded earlier with this dataset (`contactd import`), kept afterwards.
        POSTGRES_DB = settings.reuse_postgres
        url = f"postgres://postgres@127.0.0.1:5432/{POSTGRES_DB}"
        log(f"contactd on {backend}, {label} contacts: reusing database {POSTGRES_DB}")
        key = create_key(url)
    else:
        log(f"contactd on {backend}, {label} contacts: fresh database, import")
        url = fresh_database(backend, size)
        key = create_key(url)
        imported = import_contacts(url, csv_path)
        imported.update(backend=backend, size=size)
        log(f"  imported {imported['rows']} rows in {imported['seconds']:.1f} s")
        results["imports"].append(imported)
    refs = write_refs(url, size)
    db_bytes = database_bytes(url)

    if not port_free(CONTACTD_ADDR):
        raise RuntimeError(f"something already listens on {CONTACTD_ADDR}")
    # The per-key rate limit (10,000 requests/s by default) is off, as it would be for a
    # deployment that expects this load; request logs go to /dev/null at the default level.
    env = dict(os.environ, CONTACTD_RATE_LIMIT_PER_SECOND="0")
    # Private webhook URLs are allowed so that the webhook scenarios can deliver to a
    # receiver on loopback; no endpoint exists before them.
    server = Server("contactd", [CONTACTD, "serve", "--listen", "%s:%d" % CONTACTD_ADDR,
                                 "--database", url, "--webhook-allow-private"],
                    (*CONTACTD_ADDR, "/readyz"), env=env)
    startup = {"backend": backend, "size": size, "ready_ms": round(server.ready_ms, 1),
               "rss_mb_at_ready": round(server.status("VmRSS") / 1024, 1),
               "database_mb": round(db_bytes / 2**20, 1)}
    results["startup"].append(startup)
    log(f"  ready in {server.ready_ms:.0f} ms, database {startup['database_mb']} MB")
    auth = [f"X-API-Key: {key}"]
    wanted = settings.scenarios

    def scenario(name, script, args):
        if wanted and not any(name == w or name.startswith(w + "_") or w == name.split("_")[0]
                              for w in wanted):
            return
        figures = wrk.run(f"{backend}-{label}-{name}", CONTACTD_ADDR, script, args, auth,
                          server=server,
                          database_cpu=postgres_cpu_seconds if backend == "postgres" else None)
        row = {"scenario": name, "system": "contactd", "backend": backend, "size": size,
               **figures}
        results["runs"].append(row)
        log(f"  {name:<14} {row['rps']:>10,.0f} req/s  p50 {row['p50_ms']:.2f} ms  "
            f"p99 {row['p99_ms']:.2f} ms  errors {row['errors']}  "
            f"rss {row.get('server_peak_rss_mb')} MB  cpu {row.get('server_cpu_cores')}"
            + (f" + postgres {row['database_cpu_cores']}" if "database_cpu_cores" in row else ""))

    try:
        # Warm the server and the database's cache once, unmeasured.
        wrk.run(f"{backend}-{label}-warmup", CONTACTD_ADDR, "get.lua",
                {"refs": refs["ids"]}, auth, duration=settings.warmup)
        scenario("get_by_id", "get.lua", {"refs": refs["ids"]})
        scenario("get_by_phone", "get.lua", {"refs": refs["phones"]})
        scenario("get_by_email", "get.lua", {"refs": refs["emails"]})
        scenario("list_filter", "list_filter.lua", {})
        for name, query in SEARCHES.items():
            scenario(name, "list_filter.lua", {"path": f"/v2/contact?{query}&{FIRST_PAGE}"})
            scenario(name + "_upd", "list_filter.lua",
                     {"path": f"/v2/contact?{query}&{FIRST_PAGE}&sort=-updated_at"})
        scenario("count_25", "list_filter.lua", {"path": COUNT_25})
        if not wanted or "segment" in wanted:
            results["walks"].append(walk_segment(key, backend, size))
        with_conversations = refs["id_list"][: max(10, min(1000, size // 10))]
        create_conversations(key, with_conversations)
        conversation_refs = WORK / "conversation_contacts.txt"
        conversation_refs.write_text("\n".join(with_conversations) + "\n")
        scenario("conversations", "get.lua",
                 {"refs": conversation_refs, "suffix": "/conversations"})
        # Each write scenario, then the same writes with a webhook endpoint subscribed to
        # every event (issue 16: at most 10 % fewer writes than without), back to back so
        # that both meet the database at about the same size (the batches add 300,000
        # contacts in a run): the delivery worker runs beside the second.
        hooks_wanted = not wanted or any(w.startswith("webhook") for w in wanted)
        with (webhook_receiver() if hooks_wanted else contextlib.nullcontext()) as receiver_url:
            for name, script, args, hooked in [
                    ("put_merge", "put_merge.lua", {"refs": refs["ids"]}, {"refs": refs["ids"]}),
                    ("create", "create.lua", {"tag": 101}, {"tag": 111}),
                    ("mixed", "mixed.lua", {"refs": refs["ids"], "tag": 102},
                     {"refs": refs["ids"], "tag": 112}),
                    ("batch", "batch.lua", {"tag": 104, "size": BATCH_SIZE},
                     {"tag": 114, "size": BATCH_SIZE})]:
                hooked_name = "webhook_" + name
                paired = hooks_wanted and not (wanted and not any(
                    w in ("webhook", hooked_name) for w in wanted))
                # Runs of one scenario vary by ±10% on this machine, as much as the
                # difference measured, and slow down as the writes grow the database (PUT
                # merge on PostgreSQL halved over six runs): the pair runs WEBHOOK_PAIRS
                # times, which of the two goes first alternating, and check_targets
                # compares medians. Each repeat writes new phones (tag + 100).
                for i in range(WEBHOOK_PAIRS if paired else 1):
                    shift = lambda a: {**a, "tag": a["tag"] + 100 * i} if "tag" in a else a
                    if not paired:
                        scenario(name, script, shift(args))
                        continue
                    if i % 2 == 0:
                        scenario(name, script, shift(args))
                    webhook_id = subscribe_webhook(key, receiver_url)
                    scenario(hooked_name, script, shift(hooked))
                    # Note how many deliveries were behind when the writes stopped, and let
                    # them finish before the next scenario.
                    behind, drained = drain_deliveries()
                    delete_webhook(key, webhook_id)
                    if results["runs"] and results["runs"][-1]["scenario"] == hooked_name:
                        results["runs"][-1]["deliveries_behind"] = behind
                        results["runs"][-1]["drain_s"] = drained
                        log(f"  {hooked_name}: {behind:,} deliveries behind at the end, "
                            f"delivered in {drained:.1f} s")
                    if i % 2 == 1:
                        scenario(name, script, shift(args))
    finally:
        server.stop()
        if not reuse:
            drop_database(url)


class webhook_receiver:
    """A webhook endpoint on loopback that answers every POST at once: the constant-JSON
    server (bench/ceiling), which costs the machine far less per delivery than contactd
    spends sending it, so the scenarios measure contactd's cost, not the receiver's. It
    runs at nice 19: a receiver is another machine in a deployment, and on this one it
    should take the CPU time contactd leaves, not a share of the API's."""

    def __enter__(self) -> str:
        self.server = Server("receiver", ["nice", "-n", "19", CEILING, "%s:%d" % RECEIVER_ADDR],
                             (*RECEIVER_ADDR, "/"))
        return "http://%s:%d/hook" % RECEIVER_ADDR

    def __exit__(self, *exc):
        self.server.stop()


def webhook_queue_depth() -> int:
    conn = http.client.HTTPConnection(*CONTACTD_ADDR, timeout=60)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    for line in text.splitlines():
        if line.startswith("contactd_webhook_queue_depth"):
            return int(float(line.split()[-1]))
    raise RuntimeError("/metrics has no contactd_webhook_queue_depth")


def drain_deliveries(limit_s: float = 300) -> tuple[int, float]:
    """Waits until no delivery is pending; returns how many were at first, and the wait."""
    started = time.monotonic()
    behind = webhook_queue_depth()
    depth = behind
    while depth and time.monotonic() - started < limit_s:
        time.sleep(0.2)
        depth = webhook_queue_depth()
    return behind, round(time.monotonic() - started, 1)


def subscribe_webhook(key, url) -> str:
    conn = http.client.HTTPConnection(*CONTACTD_ADDR, timeout=60)
    conn.request("POST", "/v2/webhook", json.dumps({"url": url}),
                 {"X-API-Key": key, "Content-Type": "application/json"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 201:
        raise RuntimeError(f"creating the webhook answered {response.status}: {body!r}")
    return json.loads(body)["id"]


def delete_webhook(key, webhook_id) -> None:
    conn = http.client.HTTPConnection(*CONTACTD_ADDR, timeout=60)
    conn.request("DELETE", f"/v2/webhook/{webhook_id}", headers={"X-API-Key": key})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status >= 300:
        raise RuntimeError(f"deleting the webhook answered {response.status}: {body!r}")


def walk_segment(key, backend, size) -> dict:
    """Saves a segment (a quarter of the contacts), then reads all of it by cursor, 100 a
    page, over one connection; and exports it with `contactd export --segment`."""
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    conn = http.client.HTTPConnection(*CONTACTD_ADDR, timeout=60)
    conn.request("POST", "/v2/segment", json.dumps({"name": "premium", "filter": SEGMENT_FILTER}),
                 headers)
    response = conn.getresponse()
    segment = json.loads(response.read())
    if response.status != 201:
        raise RuntimeError(f"creating the segment answered {response.status}: {segment}")
    started = time.perf_counter()
    path = f"/v2/segment/{segment['id']}/contacts?limit=100&include_total=false"
    walked = 0
    while True:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        page = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"a segment page answered {response.status}: {page}")
        walked += len(page["data"])
        if not page["next_cursor"]:
            break
        path = (f"/v2/segment/{segment['id']}/contacts?limit=100&cursor={page['next_cursor']}")
    seconds = time.perf_counter() - started
    conn.close()
    if walked != segment["count"]:
        raise RuntimeError(f"walked {walked} contacts of a segment counting {segment['count']}")
    row = {"backend": backend, "size": size, "contacts": walked,
           "walk_seconds": round(seconds, 2), "walk_per_s": round(walked / seconds)}
    out = WORK / "segment-export.ndjson"
    started = time.perf_counter()
    exported = subprocess.run(
        [CONTACTD, "export", "--segment", segment["id"], "--format", "ndjson",
         "--output", str(out), "--url", "http://%s:%d" % CONTACTD_ADDR, "--api-key", key],
        capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if exported.returncode == 0:
        lines = sum(1 for _ in out.open())
        row.update(export_seconds=round(seconds, 2), export_per_s=round(lines / seconds),
                   exported=lines)
    else:
        row["export_error"] = (exported.stderr or exported.stdout).strip()[-300:]
    log(f"  segment walk   {row['walk_per_s']:>10,} contacts/s ({walked:,} in "
        f"{row['walk_seconds']} s); export {row.get('export_per_s', row.get('export_error'))}")
    return row


def bench_ceiling(size, settings, wrk, results):
    """Measured again before each dataset size, so that each ratio compares runs made
    minutes apart, under the same conditions."""
    log("constant-JSON ceiling")
    refs = WORK / "ceiling_refs.txt"
    refs.write_text("\n".join(f"cnt_{i:029d}" for i in range(10_000)) + "\n")
    server = Server("ceiling", [CEILING, "%s:%d" % CEILING_ADDR], (*CEILING_ADDR, "/"))
    try:
        wrk.run("ceiling-warmup", CEILING_ADDR, "get.lua", {"refs": refs},
                duration=settings.warmup)
        figures = wrk.run(f"ceiling-{size_label(size)}", CEILING_ADDR, "get.lua",
                          {"refs": refs}, server=server)
    finally:
        server.stop()
    results["runs"].append({"scenario": "constant_json", "system": "ceiling", "backend": "-",
                            "size": size, **figures})
    log(f"  ceiling {figures['rps']:,.0f} req/s  p99 {figures['p99_ms']:.2f} ms")


def bench_pocketbase(size, csv_path, settings, wrk, results):
    label = size_label(size)
    peer_size = min(size, settings.peer_max)
    log(f"PocketBase, {size_label(peer_size)} contacts")
    peer = pocketbase_peer.PocketBase(BENCH / ".venv" / "bin" / "pocketbase",
                                      WORK / "pocketbase", settings.peer_port)
    loaded = peer.prepare(csv_path, peer_size)
    ids = loaded.pop("ids")
    results["imports"].append({"backend": "pocketbase", "size": peer_size, **loaded})
    addr = ("127.0.0.1", settings.peer_port)
    server = Server("pocketbase", peer.serve_argv(), (*addr, "/api/health"))
    results["startup"].append({"backend": "pocketbase", "size": peer_size,
                               "ready_ms": round(server.ready_ms, 1)})
    refs = WORK / "pocketbase_ids.txt"
    random.Random("pb").shuffle(ids)
    refs.write_text("\n".join(ids) + "\n")
    try:
        wrk.run(f"pocketbase-{label}-warmup", addr, "get.lua",
                {"refs": refs, "prefix": "/api/collections/contacts/records/"},
                duration=settings.warmup)
        for name, script, args in (
                ("get_by_id", "get.lua",
                 {"refs": refs, "prefix": "/api/collections/contacts/records/"}),
                ("create", "create.lua",
                 {"tag": 103, "path": "/api/collections/contacts/records"})):
            figures = wrk.run(f"pocketbase-{label}-{name}", addr, script, args, server=server)
            row = {"scenario": name, "system": "pocketbase", "backend": "pocketbase",
                   "size": size, "peer_size": peer_size, **figures}
            results["runs"].append(row)
            log(f"  {name:<14} {row['rps']:>10,.0f} req/s  p99 {row['p99_ms']:.2f} ms  "
                f"errors {row['errors']}  rss {row['server_peak_rss_mb']} MB")
    finally:
        server.stop()


# ------------------------------------------------------------------------------ report

def add_ratios(results) -> None:
    ceilings = {r["size"]: r["rps"] for r in results["runs"] if r["system"] == "ceiling"}
    peers = {(r["scenario"], r["size"]): r["rps"] for r in results["runs"]
             if r["system"] == "pocketbase"}
    for r in results["runs"]:
        if r["system"] != "contactd":
            continue
        if r["size"] in ceilings and r["scenario"] in GETS:
            r["vs_ceiling"] = round(r["rps"] / ceilings[r["size"]], 2)
        peer = peers.get((r["scenario"], r["size"]))
        if peer:
            r["vs_pocketbase"] = round(r["rps"] / peer, 2)


def find(results, system="contactd", backend="sqlite", scenario=None, size=None):
    for r in results["runs"]:
        if (r["system"], r["backend"], r["scenario"], r["size"]) == (system, backend, scenario,
                                                                     size):
            return r
    return None


def median_rps(results, backend, scenario, size):
    """The median requests/s of a scenario's runs, and how many there were; None if none."""
    rates = sorted(r["rps"] for r in results["runs"]
                   if (r["system"], r["backend"], r["scenario"], r["size"])
                   == ("contactd", backend, scenario, size))
    return (statistics.median(rates), len(rates)) if rates else None


def check_targets(results, sizes) -> list:
    """Issue 13's targets (and issue 10's for search), judged at the largest size
    measured (1M in a full run); ratios compare runs of the same size and run."""
    big = max(sizes)
    at = f" at {size_label(big)}" + ("" if big >= 1_000_000 else " (the targets are for 1M)")
    targets = []

    def target(name, measured, met):
        targets.append({"target": name, "measured": measured, "met": met, "where": at})

    for scenario in ("get_by_id", "get_by_phone", "get_by_email"):
        r = find(results, scenario=scenario, size=big)
        if not r:
            continue
        if "vs_ceiling" in r:
            target(f"{scenario} >= 0.5x ceiling", f"{r['vs_ceiling']:.2f}x",
                   r["vs_ceiling"] >= 0.5)
        peer = find(results, system="pocketbase", backend="pocketbase", scenario="get_by_id",
                    size=big)
        if peer:
            ratio = r["rps"] / peer["rps"]
            target(f"{scenario} >= 5x PocketBase GET by id", f"{ratio:.2f}x", ratio >= 5)
        target(f"{scenario} p99 <= 5 ms", f"{r['p99_ms']:.2f} ms", r["p99_ms"] <= 5)
    r = find(results, scenario="create", size=big)
    if r and "vs_pocketbase" in r:
        target("create >= 4x PocketBase (synchronous=FULL)", f"{r['vs_pocketbase']:.2f}x",
               r["vs_pocketbase"] >= 4)
    for backend in ("sqlite", "postgres"):
        for name in ("create", "put_merge", "mixed", "batch"):
            plain = median_rps(results, backend, name, big)
            hooked = median_rps(results, backend, "webhook_" + name, big)
            if plain and hooked:
                ratio = hooked[0] / plain[0]
                target(f"{backend} {name} with a webhook subscribed >= 0.9x without",
                       f"{ratio:.2f}x ({hooked[0]:,.0f} against {plain[0]:,.0f} req/s, "
                       f"medians of {hooked[1]} and {plain[1]} runs)",
                       ratio >= 0.9)
    r = find(results, scenario="put_merge", size=big)
    if r:
        target("PUT merge >= 12k/s", f"{r['rps']:,.0f} req/s", r["rps"] >= 12_000)
    r = find(results, scenario="mixed", size=big)
    if r:
        target("mixed >= 25k/s", f"{r['rps']:,.0f} req/s", r["rps"] >= 25_000)
    for backend, limit in (("sqlite", 15), ("postgres", 30)):
        imp = next((i for i in results["imports"]
                    if i["backend"] == backend and i["size"] == big), None)
        if imp:
            target(f"{backend} import of {size_label(big)} CSV rows <= {limit} s",
                   f"{imp['seconds']:.1f} s ({imp['rows_per_s']:,} rows/s)",
                   imp["seconds"] <= limit)
    r = find(results, backend="postgres", scenario="batch", size=big)
    if r:
        rows = r["rps"] * BATCH_SIZE
        target("PostgreSQL batch endpoint >= 20k rows/s", f"{rows:,.0f} rows/s",
               rows >= 20_000)
    r = find(results, backend="postgres", scenario="get_by_id", size=big)
    if r and "vs_ceiling" in r:
        target("PostgreSQL GET by id >= 0.3x ceiling", f"{r['vs_ceiling']:.2f}x",
               r["vs_ceiling"] >= 0.3)
    r = find(results, backend="postgres", scenario="create", size=big)
    if r:
        target("PostgreSQL create >= 8k/s", f"{r['rps']:,.0f} req/s", r["rps"] >= 8_000)
    rss = [(r["server_peak_rss_mb"], r["scenario"]) for r in results["runs"]
           if r["system"] == "contactd" and r["size"] == big and "server_peak_rss_mb" in r]
    if rss:
        worst, where = max(rss)
        target("server RSS <= 150 MB through every scenario", f"{worst} MB (peak, {where})",
               worst <= 150)
    start = next((s for s in results["startup"] if s["backend"] == "sqlite" and s["size"] == big),
                 None)
    if start:
        target("start to ready <= 300 ms", f"{start['ready_ms']:.0f} ms", start["ready_ms"] <= 300)
    for backend in ("sqlite", "postgres"):
        get = find(results, backend=backend, scenario="get_by_id", size=big)
        for name in [n for base in SEARCHES for n in (base, base + "_upd")]:
            r = find(results, backend=backend, scenario=name, size=big)
            if not r:
                continue
            target(f"{backend} {name} >= 2,000 req/s", f"{r['rps']:,.0f} req/s",
                   r["rps"] >= 2_000)
            if get:
                ratio = r["rps"] / get["rps"]
                target(f"{backend} {name} >= 0.1x GET by id", f"{ratio:.2f}x", ratio >= 0.1)
            target(f"{backend} {name} p99 <= 50 ms", f"{r['p99_ms']:.1f} ms", r["p99_ms"] <= 50)
        r = find(results, backend=backend, scenario="count_25", size=big)
        if r:
            limit = 100 if backend == "sqlite" else 200
            target(f"{backend} count of 25% p99 <= {limit} ms", f"{r['p99_ms']:.1f} ms",
                   r["p99_ms"] <= limit)
        walk = next((w for w in results.get("walks", [])
                     if w["backend"] == backend and w["size"] == big), None)
        if walk:
            target(f"{backend} segment walk >= 50,000 contacts/s",
                   f"{walk['walk_per_s']:,} contacts/s", walk["walk_per_s"] >= 50_000)
            if "export_per_s" in walk:
                target(f"{backend} export --segment >= 50,000 contacts/s",
                       f"{walk['export_per_s']:,} contacts/s", walk["export_per_s"] >= 50_000)
    return targets


def latency(r, key, settings) -> str:
    """A latency figure, or "> N s" when fewer requests finished than there were
    connections: most were still waiting for their answer when the run ended."""
    if r["requests"] < settings["connections"]:
        return f"> {settings['duration_s']} s"
    return f"{r[key]:.2f}"


def print_table(results) -> None:
    settings = results["settings"]
    header = (f"{'scenario':<20} {'backend':<10} {'size':>5} {'req/s':>9} {'p50 ms':>7} "
              f"{'p99 ms':>7} {'errors':>6} {'RSS MB':>7} {'cpu':>5} {'db cpu':>6} "
              f"{'x ceil':>6} {'x PB':>5}")
    print()
    print(header)
    print("-" * len(header))
    for r in results["runs"]:
        backend = {"contactd": r["backend"]}.get(r["system"], r["system"])
        size = size_label(r.get("peer_size", r["size"]))
        print(f"{r['scenario']:<20} {backend:<10} {size:>5} {r['rps']:>9,.0f} "
              f"{latency(r, 'p50_ms', settings):>7} {latency(r, 'p99_ms', settings):>7} "
              f"{r['errors']:>6} {r.get('server_peak_rss_mb', '-'):>7} "
              f"{r.get('server_cpu_cores', '-'):>5} {r.get('database_cpu_cores', '-'):>6} "
              f"{r.get('vs_ceiling', ''):>6} {r.get('vs_pocketbase', ''):>5}")
    print("cpu: cores the server process used during the run (of the machine's "
          f"{os.cpu_count()}, shared with wrk); db cpu: PostgreSQL's processes")
    print()
    for i in results["imports"]:
        print(f"import {i['backend']:<10} {size_label(i['size']):>5}: {i['rows']:,} rows in "
              f"{i['seconds']:.1f} s ({i['rows_per_s']:,} rows/s)")
    for s in results["startup"]:
        print(f"start to ready {s['backend']:<10} {size_label(s['size']):>5}: "
              f"{s['ready_ms']:.0f} ms" + (f", database {s['database_mb']} MB, "
                                          f"RSS at ready {s['rss_mb_at_ready']} MB"
                                          if "database_mb" in s else ""))
    for w in results.get("walks", []):
        print(f"segment {w['backend']:<10} {size_label(w['size']):>5}: walked {w['contacts']:,} "
              f"contacts by cursor at {w['walk_per_s']:,}/s; export "
              + (f"{w['export_per_s']:,}/s" if "export_per_s" in w else w.get("export_error", "-")))
    print()
    for t in results["targets"]:
        mark = "met    " if t["met"] else "NOT MET"
        print(f"{mark} {t['target']:<48} {t['measured']}{t['where']}")
    print()


def markdown(results) -> str:
    """The table and the targets as Markdown, for docs/performance.md."""
    settings = results["settings"]
    lines = ["| scenario | backend | contacts | req/s | p50 ms | p99 ms | errors | server peak "
             "RSS MB | server cores | PostgreSQL cores | × ceiling | × PocketBase |",
             "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in results["runs"]:
        backend = {"contactd": r["backend"], "pocketbase": "PocketBase"}.get(r["system"],
                                                                             "ceiling")
        lines.append(
            f"| {r['scenario']} | {backend} | {size_label(r.get('peer_size', r['size']))} | "
            f"{r['rps']:,.0f} | {latency(r, 'p50_ms', settings)} | "
            f"{latency(r, 'p99_ms', settings)} | {r['errors']} | "
            f"{r.get('server_peak_rss_mb', '')} | {r.get('server_cpu_cores', '')} | "
            f"{r.get('database_cpu_cores', '')} | {r.get('vs_ceiling', '')} | "
            f"{r.get('vs_pocketbase', '')} |")
    lines += ["", "| import | contacts | seconds | rows/s |", "|---|--:|--:|--:|"]
    names = {"pocketbase": "PocketBase ¹"}
    for i in results["imports"]:
        lines.append(f"| {names.get(i['backend'], i['backend'])} | {size_label(i['size'])} | "
                     f"{i['seconds']:.1f} | "
                     f"{i['rows_per_s']:,} |")
    lines += ["", "¹ rows written straight into PocketBase's SQLite file, not through its API",
              "", "| start to ready | contacts | ms | database MB |", "|---|--:|--:|--:|"]
    for s in results["startup"]:
        name = "PocketBase" if s["backend"] == "pocketbase" else s["backend"]
        lines.append(f"| {name} | {size_label(s['size'])} | {s['ready_ms']:.0f} | "
                     f"{s.get('database_mb', '')} |")
    if results.get("walks"):
        lines += ["", "| segment of 25% | contacts | walk by cursor, contacts/s | "
                  "`export --segment`, contacts/s |", "|---|--:|--:|--:|"]
        for w in results["walks"]:
            lines.append(f"| {w['backend']} {size_label(w['size'])} | {w['contacts']:,} | "
                         f"{w['walk_per_s']:,} | {w.get('export_per_s', w.get('export_error', ''))} |")
    lines += ["", "| target | measured | |", "|---|---|---|"]
    for t in results.get("targets", []):
        lines.append(f"| {t['target']} | {t['measured']}{t['where']} | "
                     f"{'met' if t['met'] else '**not met**'} |")
    return "\n".join(lines) + "\n"


def machine() -> dict:
    info = {"nproc": os.cpu_count(), "kernel": platform.release()}
    with open("/proc/cpuinfo") as f:
        info["cpu"] = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")),
                           "unknown")
    with open("/proc/meminfo") as f:
        kb = int(next(l for l in f if l.startswith("MemTotal")).split()[1])
    info["memory_gib"] = round(kb / 2**20, 1)
    info["load_average_at_start"] = os.getloadavg()
    commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                            capture_output=True, text=True)
    info["commit"] = commit.stdout.strip() or "unknown"
    info["contactd_built"] = time.strftime(
        "%Y-%m-%dT%H:%M:%S", time.localtime(CONTACTD.stat().st_mtime)) if CONTACTD.exists() else None
    for tool, argv in (("wrk", ["wrk", "--version"]),
                       ("rustc", ["rustc", "--version"]),
                       ("pocketbase", [str(BENCH / ".venv" / "bin" / "pocketbase"), "--version"]),
                       ("postgresql", ["psql", "--version"])):
        try:
            out = subprocess.run(argv, capture_output=True, text=True)
            info[tool] = (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            info[tool] = None
    return info


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10k,100k,1m", help="dataset sizes, comma-separated")
    p.add_argument("--backends", default="sqlite,postgres", help="contactd's backends")
    p.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    p.add_argument("--warmup", type=int, default=2, help="unmeasured seconds before the first")
    p.add_argument("--connections", type=int, default=64, help="wrk's connections")
    p.add_argument("--threads", type=int, default=2, help="wrk's threads")
    p.add_argument("--timeout", type=int, default=10, help="wrk's request timeout, seconds")
    p.add_argument("--no-peer", action="store_true", help="skip PocketBase")
    p.add_argument("--peer-max", default="1m",
                   help="largest dataset loaded into PocketBase (larger sizes use this many)")
    p.add_argument("--peer-port", type=int, default=18090)
    p.add_argument("--note", default="", help="a remark stored with the results")
    p.add_argument("--scenarios", default="",
                   help="run only these contactd scenarios, comma-separated (e.g. "
                        "get_by_id,search,count,segment,create,put_merge); default all")
    p.add_argument("--no-ceiling", action="store_true", help="skip the constant-JSON ceiling")
    p.add_argument("--reuse-postgres", metavar="DB",
                   help="measure PostgreSQL on this already loaded database (same dataset and "
                        "size) instead of a fresh import; it is kept")
    p.add_argument("--contactd", metavar="PATH",
                   help="another contactd binary to measure (e.g. an older commit's build)")
    p.add_argument("--report", metavar="JSON",
                   help="run nothing: print the table of a results file and redraw its chart")
    settings = p.parse_args()
    if settings.report:
        report(json.loads(Path(settings.report).read_text()))
        return
    settings.peer_max = parse_size(settings.peer_max)
    settings.scenarios = [w.strip() for w in settings.scenarios.split(",") if w.strip()]
    if settings.contactd:
        global CONTACTD
        CONTACTD = Path(settings.contactd).resolve()
    sizes = sorted(parse_size(s) for s in settings.sizes.split(","))
    backends = [b.strip() for b in settings.backends.split(",")]
    for b in backends:
        if b not in ("sqlite", "postgres"):
            p.error(f"unknown backend {b}")
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(exist_ok=True)
    for old in RESULTS.glob("*.log"):
        old.unlink()

    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": machine(),
               "settings": {"sizes": sizes, "backends": backends,
                            "duration_s": settings.duration, "warmup_s": settings.warmup,
                            "connections": settings.connections, "threads": settings.threads,
                            "peer": not settings.no_peer, "note": settings.note},
               "runs": [], "imports": [], "startup": [], "walks": []}
    wrk = Wrk(settings)
    datasets = {}
    for size in sizes:
        datasets[size] = DATA / f"contacts-{size_label(size)}.csv"
        if not datasets[size].exists():
            log(f"generating {datasets[size].name}")
            tmp = datasets[size].with_suffix(".tmp")
            gen_dataset.write(size, str(tmp))
            tmp.rename(datasets[size])

    try:
        # Each size's runs follow each other, so that ratios compare runs made under the
        # same conditions.
        for size in sizes:
            if not settings.no_ceiling:
                bench_ceiling(size, settings, wrk, results)
            for backend in backends:
                bench_contactd(backend, size, datasets[size], settings, wrk, results)
            if not settings.no_peer:
                bench_pocketbase(size, datasets[size], settings, wrk, results)
    finally:
        # Even when a step failed, what was measured before it is reported.
        if results["runs"]:
            report(results)


def report(results) -> None:
    """Ratios, targets, the table; results/latest.json, latest.md and the chart."""
    add_ratios(results)
    results["targets"] = check_targets(results, results["settings"]["sizes"])
    print_table(results)
    out = RESULTS / "latest.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    (RESULTS / "latest.md").write_text(markdown(results))
    chart.draw(results, RESULTS / "throughput.png")
    shutil.copyfile(RESULTS / "throughput.png", ROOT / "docs" / "performance-throughput.png")
    log("wrote bench/results/latest.json, latest.md, throughput.png and "
        "docs/performance-throughput.png")


if __name__ == "__main__":
    main()
