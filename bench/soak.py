"""A soak of contactd under the mixed load at 80% of its measured maximum.

Loads the benchmark's dataset into a fresh database (SQLite by default), measures the
maximum of the mixed scenario (80% GET, 10% PUT merge, 10% create) for 10 s, then runs the
same mix paced at 80% of that for the soak's length in 30 s segments, back to back, and
records each segment's rate, p50/p99, errors and the server's RSS and CPU. It passes when
no request failed, memory stayed flat (the last third's peak RSS within 10% of the first
third's) and p99 stayed steady (no segment's p99 above 3x the median segment's).

    bench/soak                         # 1M contacts, SQLite, 10 minutes
    bench/soak --size 100k --minutes 2
"""

import argparse
import datetime
import json
import statistics
import sys
import time

import bench
from bench import CONTACTD, CONTACTD_ADDR, DATA, RESULTS, WORK, Server, Wrk, log

SEGMENT_S = 30


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="1m")
    p.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--share", type=float, default=0.8, help="share of the maximum to run at")
    p.add_argument("--delay-ms", type=int, default=5, help="pause of each connection")
    settings = p.parse_args()
    size = bench.parse_size(settings.size)
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(exist_ok=True)
    dataset = DATA / f"contacts-{bench.size_label(size)}.csv"
    if not dataset.exists():
        log(f"generating {dataset.name}")
        bench.gen_dataset.write(size, str(dataset))

    url = bench.fresh_database(settings.backend, size)
    key = bench.create_key(url)
    log(f"importing {bench.size_label(size)} contacts into {settings.backend}")
    imported = bench.import_contacts(url, dataset)
    log(f"  {imported['seconds']:.1f} s")
    refs = bench.write_refs(url, size)
    env = dict(bench.os.environ, CONTACTD_RATE_LIMIT_PER_SECOND="0")
    server = Server("contactd", [CONTACTD, "serve", "--listen", "%s:%d" % CONTACTD_ADDR,
                                 "--database", url], (*CONTACTD_ADDR, "/readyz"), env=env)
    auth = [f"X-API-Key: {key}"]
    segments = []
    try:
        full = Wrk(argparse.Namespace(connections=64, threads=2, duration=10, timeout=10))
        full.run("soak-warmup", CONTACTD_ADDR, "get.lua", {"refs": refs["ids"]}, auth,
                 duration=3)
        maximum = full.run("soak-maximum", CONTACTD_ADDR, "mixed.lua",
                           {"refs": refs["ids"], "tag": 301}, auth, server=server)
        goal = maximum["rps"] * settings.share
        log(f"maximum of the mixed load {maximum['rps']:,.0f} req/s; soaking at "
            f"{goal:,.0f} req/s for {settings.minutes:g} minutes")
        # rate ≈ connections / (delay + latency): start from the latency at the maximum's
        # share, then correct the connections after each segment.
        connections = max(2, round(goal * (settings.delay_ms + 1) / 1000))
        count = max(1, round(settings.minutes * 60 / SEGMENT_S))
        for i in range(count):
            paced = Wrk(argparse.Namespace(connections=connections, threads=2,
                                           duration=SEGMENT_S, timeout=10))
            cpu_before = server.cpu_seconds()
            server.reset_peak_rss()
            figures = paced.run(f"soak-{i:02d}", CONTACTD_ADDR, "soak.lua",
                                {"refs": refs["ids"], "tag": 400 + i,
                                 "delay_ms": settings.delay_ms}, auth)
            figures["server_peak_rss_mb"] = round(server.status("VmHWM") / 1024, 1)
            figures["server_rss_mb"] = round(server.status("VmRSS") / 1024, 1)
            figures["server_cpu_cores"] = round(
                (server.cpu_seconds() - cpu_before) / figures["seconds"], 2)
            figures["connections"] = connections
            figures["minute"] = round((i + 1) * SEGMENT_S / 60, 1)
            segments.append(figures)
            log(f"  {figures['minute']:>4} min {figures['rps']:>9,.0f} req/s  "
                f"p50 {figures['p50_ms']:.2f} ms  p99 {figures['p99_ms']:.2f} ms  "
                f"errors {figures['errors']}  rss {figures['server_rss_mb']} MB "
                f"(peak {figures['server_peak_rss_mb']})  cpu {figures['server_cpu_cores']}")
            if figures["rps"] > 0:
                connections = max(2, min(1024, round(connections * goal / figures["rps"])))
    finally:
        server.stop()
        bench.drop_database(url)

    third = max(1, len(segments) // 3)
    first_rss = max(s["server_peak_rss_mb"] for s in segments[:third])
    last_rss = max(s["server_peak_rss_mb"] for s in segments[-third:])
    p99s = [s["p99_ms"] for s in segments]
    errors = sum(s["errors"] for s in segments)
    checks = {
        "no errors": errors == 0,
        "memory flat (last third's peak RSS within 10% of the first third's)":
            last_rss <= first_rss * 1.10,
        "p99 steady (no segment above 3x the median)":
            max(p99s) <= 3 * statistics.median(p99s),
    }
    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": bench.machine(), "backend": settings.backend, "size": size,
              "import": imported, "maximum": maximum, "goal_rps": round(goal),
              "segments": segments, "checks": checks,
              "rss_first_third_mb": first_rss, "rss_last_third_mb": last_rss}
    (RESULTS / "soak.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = ["| minute | req/s | p50 ms | p99 ms | errors | RSS MB | peak RSS MB | cores |",
             "|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for s in segments:
        lines.append(f"| {s['minute']} | {s['rps']:,.0f} | {s['p50_ms']:.2f} | "
                     f"{s['p99_ms']:.2f} | {s['errors']} | {s['server_rss_mb']} | "
                     f"{s['server_peak_rss_mb']} | {s['server_cpu_cores']} |")
    lines.append("")
    lines += [f"- {name}: {'met' if ok else '**not met**'}" for name, ok in checks.items()]
    (RESULTS / "soak.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    log("wrote bench/results/soak.json and soak.md")
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
