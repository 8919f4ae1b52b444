"""Profiles contactd under one wrk scenario, on a fresh SQLite database of N contacts.

    bench/.venv/bin/python bench/profile.py get_by_id --size 100k --tool callgrind
    bench/.venv/bin/python bench/profile.py create --tool perf
    bench/.venv/bin/python bench/profile.py create --backend postgres
    bench/.venv/bin/python bench/profile.py import --backend postgres

On PostgreSQL (perf only) the whole machine is sampled, so the report also shows where
PostgreSQL's backends spend their time; `import` profiles `contactd import` of the
dataset instead of a wrk scenario.

callgrind (valgrind) counts instructions in user space, repeatable whatever else the
machine does: it says which of contactd's own functions cost the most, but not what the
kernel spends. perf samples the cpu-clock, kernel included, where the CPU's instruction
counters are not available (as in this VM): it says where the time goes, syscalls,
scheduling and all. Reports land in bench/results/profile-*.txt.
"""

import argparse
import os
import subprocess
import time
from pathlib import Path

import bench

SCENARIOS = {
    "get_by_id": ("get.lua", lambda refs: {"refs": refs["ids"]}),
    "get_by_phone": ("get.lua", lambda refs: {"refs": refs["phones"]}),
    "create": ("create.lua", lambda refs: {"tag": 111}),
    "get_by_email": ("get.lua", lambda refs: {"refs": refs["emails"]}),
    "put_merge": ("put_merge.lua", lambda refs: {"refs": refs["ids"]}),
    "import": (None, None),
}


def trim(report: str) -> str:
    """perf pads its columns to the longest Rust symbol; keep lines readable."""
    return "\n".join(line[:160].rstrip() for line in report.splitlines()
                     if line.strip() and not line.startswith("# ."))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--size", default="100k")
    p.add_argument("--tool", choices=["callgrind", "perf"], default="callgrind")
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = p.parse_args()
    if args.backend == "postgres" or args.scenario == "import":
        args.tool = "perf"
    size = bench.parse_size(args.size)
    bench.WORK.mkdir(parents=True, exist_ok=True)
    dataset = bench.DATA / f"contacts-{bench.size_label(size)}.csv"
    if not dataset.exists():
        bench.gen_dataset.write(size, str(dataset))
    url = bench.fresh_database(args.backend, size)
    key = bench.create_key(url)
    backend = "" if args.backend == "sqlite" else "-postgres"
    out = bench.RESULTS / f"profile-{args.tool}-{args.scenario}{backend}-{bench.size_label(size)}"
    if args.scenario == "import":
        profile_import(url, dataset, out)
        return
    bench.import_contacts(url, dataset)
    refs = bench.write_refs(url, size)
    script, script_args = SCENARIOS[args.scenario]
    serve = [str(bench.CONTACTD), "serve", "--listen", "%s:%d" % bench.CONTACTD_ADDR,
             "--database", url]
    # As in bench.py: no per-key rate limit, request logs at the default level.
    env = dict(os.environ, CONTACTD_RATE_LIMIT_PER_SECOND="0")
    settings = argparse.Namespace(connections=args.connections, threads=2,
                                  duration=args.duration, timeout=30)
    wrk = bench.Wrk(settings)
    auth = [f"X-API-Key: {key}"]

    if args.tool == "callgrind":
        argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.callgrind",
                "--dump-instr=no", "--collect-atstart=yes"] + serve
        server = bench.Server("contactd", argv, (*bench.CONTACTD_ADDR, "/readyz"), env=env)
        try:
            figures = wrk.run(out.name, bench.CONTACTD_ADDR, script, script_args(refs), auth)
        finally:
            server.stop()
        report = subprocess.run(["callgrind_annotate", "--inclusive=no", f"{out}.callgrind"],
                                capture_output=True, text=True).stdout
        inclusive = subprocess.run(["callgrind_annotate", "--inclusive=yes",
                                    f"{out}.callgrind"], capture_output=True, text=True).stdout
        text = (f"{figures['requests']} requests under callgrind\n\n== self cost\n"
                + "\n".join(report.splitlines()[:60])
                + "\n\n== inclusive cost\n" + "\n".join(inclusive.splitlines()[:80]))
    else:
        server = bench.Server("contactd", serve, (*bench.CONTACTD_ADDR, "/readyz"), env=env)
        data = f"{out}.perf.data"
        try:
            target = ["-a"] if args.backend == "postgres" else ["-p", str(server.pid)]
            recorder = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999", "-g",
                                         "-o", data] + target,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            figures = wrk.run(out.name, bench.CONTACTD_ADDR, script, script_args(refs), auth)
            recorder.send_signal(2)
            recorder.wait()
        finally:
            server.stop()
        text = f"{figures['rps']:.0f} req/s while sampled\n\n" + perf_report(data)
    Path(f"{out}.txt").write_text(text)
    print(text[:6000])
    print(f"\nfull report: {out}.txt")


def perf_report(data: str) -> str:
    """Time by process, then by function (self and inclusive)."""
    def report(*args: str) -> str:
        return trim(subprocess.run(["perf", "report", "-i", data, "-g", "none", *args],
                                   capture_output=True, text=True).stdout)
    return ("== time by process\n" + report("--no-children", "--sort", "comm",
                                               "--percent-limit", "1")
            + "\n\n== self time\n" + report("--no-children", "--sort", "comm,dso,sym",
                                                "--percent-limit", "0.5")
            + "\n\n== inclusive time (children)\n" + report("--children", "--sort",
                                                               "comm,sym", "--percent-limit", "2"))


def profile_import(url: str, dataset: Path, out: Path) -> None:
    """Samples the whole machine while `contactd import` loads the dataset."""
    data = f"{out}.perf.data"
    recorder = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "499", "-g",
                                 "-a", "-o", data],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        summary = bench.import_contacts(url, dataset)
    finally:
        recorder.send_signal(2)
        recorder.wait()
    text = (f"import of {summary['rows']} rows in {summary['seconds']} s "
            f"({summary['rows_per_s']} rows/s) while sampled\n\n" + perf_report(data))
    Path(f"{out}.txt").write_text(text)
    print(text[:6000])
    print(f"\nfull report: {out}.txt")


if __name__ == "__main__":
    main()
