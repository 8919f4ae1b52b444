"""Plan evidence for docs/performance.md: the query plan of each search scenario.

Starts `contactd serve` on an already loaded database with debug logging, sends each
search scenario's first page (and a count) once, takes the SQL and parameters contactd
logs for each list ("contact list" lines), and asks the database for its plan:
`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN (ANALYZE, BUFFERS)` on PostgreSQL.

    bench/.venv/bin/python bench/plans.py --database sqlite://bench/data/run/contactd-1m.db
    bench/.venv/bin/python bench/plans.py --database postgres://postgres@127.0.0.1:5432/DB
"""

import argparse
import json
import os
import re
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import bench

ADDR = ("127.0.0.1", 18081)


def value_of(logged: str):
    """A logged parameter (`Text("…")`, `Int(5)`, `Real(1.5)`, Rust's Debug form) as a
    Python value."""
    kind, raw = re.match(r"(\w+)\((.*)\)$", logged, re.S).groups()
    if kind == "Text":
        raw = re.sub(r"\\u\{([0-9a-f]+)\}", lambda m: chr(int(m.group(1), 16)), raw)
        return json.loads(raw)
    return json.loads(raw)


def literal(logged: str) -> str:
    """A logged parameter as a PostgreSQL literal."""
    value = value_of(logged)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def split_params(logged: str) -> list:
    """`[Text("a"), Int(1)]` into its items (strings are JSON-quoted, so commas in them
    are inside quotes)."""
    items, depth, current, quoted, escaped = [], 0, "", False, False
    for ch in logged.strip()[1:-1]:
        if quoted:
            current += ch
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
            continue
        if ch == '"':
            quoted = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        items.append(current.strip())
    return items


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database", required=True)
    p.add_argument("--workspace", default=bench.WORKSPACE)
    args = p.parse_args()
    key = bench.create_key(args.database)
    log = Path(bench.WORK) / "plans.log"
    bench.WORK.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CONTACTD_LOG="contactd=debug", CONTACTD_RATE_LIMIT_PER_SECOND="0")
    with open(log, "w") as out:
        server = subprocess.Popen([bench.CONTACTD, "serve", "--listen", "%s:%d" % ADDR,
                                   "--database", args.database], stdout=out, stderr=out, env=env)
    try:
        time.sleep(2)
        paths = []
        for name, query in bench.SEARCHES.items():
            paths.append((name, f"/v2/contact?{query}&{bench.FIRST_PAGE}"))
            paths.append((name + "_upd", f"/v2/contact?{query}&{bench.FIRST_PAGE}&sort=-updated_at"))
        for name, path in paths:
            request = urllib.request.Request(f"http://{ADDR[0]}:{ADDR[1]}{path}",
                                             headers={"X-API-Key": key})
            urllib.request.urlopen(request).read()
            time.sleep(0.05)
    finally:
        server.terminate()
        server.wait()
    lines = [l for l in log.read_text().splitlines() if "contact list" in l]
    for (name, path), line in zip(paths, lines):
        plan, estimates, sql, params = re.search(
            r"plan=(\S+) estimates=(\[[^\]]*\]) sql=(.*) params=(\[.*\])", line).groups()
        values = split_params(params)
        print(f"### {name}: `{path}`\n\nplan {plan}, capped source sizes {estimates}\n\n```")
        if args.database.startswith("sqlite://"):
            db = sqlite3.connect(f"file:{args.database[len('sqlite://'):]}?mode=ro", uri=True)
            bound = [value_of(v) for v in values]
            for row in db.execute("EXPLAIN QUERY PLAN " + sql, bound):
                print(row[3])
        else:
            text = re.sub(r"\$(\d+)", lambda m: literal(values[int(m.group(1)) - 1]), sql)
            db = args.database.rsplit("/", 1)[1]
            out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-At",
                                  "-c", "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + text],
                                 capture_output=True, text=True)
            print((out.stdout or out.stderr).rstrip())
        print("```\n")


if __name__ == "__main__":
    main()
