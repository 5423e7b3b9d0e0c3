"""Print the yardstick table from results.tsv: each route per server, and ours as a ratio of its baseline.

results.tsv columns: server, class (asgi/wsgi), route, compare-with spec, req/s, p50 ms, p99 ms, non-2xx, socket errors,
server CPU µs per request. "per core" is 1e6 / that CPU time: the requests one fully busy core serves,
which a shared, noisy machine disturbs much less than req/s.
"""

import sys
from pathlib import Path


def baseline_for(spec: str, server_class: str) -> str | None:
    if spec == "-":
        return None
    for part in spec.split(","):
        if ":" in part:
            cls, name = part.split(":", 1)
            if cls == server_class:
                return name
        else:
            return part
    return None


def main(path: str) -> None:
    rows = [line.rstrip("\n").split("\t") for line in Path(path).read_text().splitlines() if line.strip()]
    by_key = {(r[0], r[2]): r for r in rows}
    header = f"{'server':<18} {'route':<14} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'errors':>7}"
    header += f" {'cpu us':>7} {'per core':>8}  ratio"
    print(header)
    print("-" * len(header) + "-" * 16)
    for server, cls, route, spec, rps, p50, p99, non2xx, errors, *rest in rows:
        cpu_us = float(rest[0]) if rest and rest[0] else 0.0
        per_core = f"{1e6 / cpu_us:.0f}" if cpu_us else "-"
        ratio = ""
        base = baseline_for(spec, cls)
        if base is not None and (server, base) in by_key:
            base_rps = float(by_key[(server, base)][4])
            if base_rps > 0:
                ratio = f"{float(rps) / base_rps:.2f}x {base}"
        print(
            f"{server:<18} {route:<14} {float(rps):>8.0f} {p50:>8} {p99:>8} {non2xx:>8} {errors:>7}"
            f" {cpu_us:>7.0f} {per_core:>8}  {ratio}"
        )


if __name__ == "__main__":
    main(sys.argv[1])
