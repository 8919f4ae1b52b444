"""Draws results/throughput.png from a results JSON: GET-by-id and create throughput at
each dataset size, for contactd on each backend and for PocketBase, with the
constant-JSON ceiling as a line.

    .venv/bin/python chart.py [results/latest.json] [results/throughput.png]
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# system, backend, label, colour, where a point's value label goes (points right, up), so
# that two series with close values do not write over each other
SERIES = [("contactd", "sqlite", "contactd (SQLite)", "tab:blue", (0, 6)),
          ("contactd", "postgres", "contactd (PostgreSQL)", "tab:green", (-20, -12)),
          ("pocketbase", "pocketbase", "PocketBase", "tab:orange", (20, 6))]


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1_000}k"


def draw(results: dict, out: Path) -> None:
    sizes = sorted({r["size"] for r in results["runs"]})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, scenario, title in ((axes[0], "get_by_id", "GET /v2/contact/{id}"),
                                (axes[1], "create", "POST /v2/contact")):
        for system, backend, name, color, offset in SERIES:
            points = sorted((r["size"], r["rps"]) for r in results["runs"]
                            if r["system"] == system and r["backend"] == backend
                            and r["scenario"] == scenario)
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker="o", color=color, label=name)
                for x, y in points:
                    ax.annotate(f"{y / 1000:.1f}k", (x, y), textcoords="offset points",
                                xytext=offset, ha="center", fontsize=8, color=color)
        ceiling = sorted((r["size"], r["rps"]) for r in results["runs"]
                         if r["system"] == "ceiling")
        if scenario == "get_by_id" and ceiling:
            xs, ys = zip(*ceiling)
            ax.plot(xs, ys, color="grey", linestyle="--", marker=".",
                    label="constant-JSON ceiling")
        ax.set_xscale("log")
        ax.set_xticks(sizes, [label(s) for s in sizes])
        ax.minorticks_off()
        ax.set_xlabel("contacts in the database")
        ax.set_ylabel("requests/s")
        ax.set_ylim(0, ax.get_ylim()[1] * 1.12)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    s = results["settings"]
    fig.suptitle(f"contactd throughput, {s['connections']} connections, {s['threads']} wrk "
                 f"threads, {s['duration_s']} s per run, {results['machine']['nproc']} cores "
                 f"shared with wrk ({results['date'][:10]})", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else here / "results" / "latest.json"
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else here / "results" / "throughput.png"
    draw(json.loads(source.read_text()), target)
