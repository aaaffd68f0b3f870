"""Benchmark: smbtests' batched connect scan vs nmap, same targets, same vantage, same run.

Needs the lab (`smbtests lab up`, as root). Runs each scanner inside lab namespaces and prints
wall-clock times and the ratio nmap / smbtests. The machines are noisy: read the ratio, and
never assert on it. nmap's command line is printed in full (its time depends on its flags).

    .venv/bin/python benchmarks/scan_vs_nmap.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCANNER = Path(__file__).resolve().parents[1] / "smbtests" / "probes" / "scanner.py"
CASES = {
    # vantage namespace, ranges: guest's 445 is dropped at the router, iot's rejected
    "guest1 -> servers /24 (dropped)": ("smblab-guest1", ["10.45.10.0/24"]),
    "iot1 -> servers /24 (rejected)": ("smblab-iot1", ["10.45.10.0/24"]),
    "mgmt -> 5 internal /24 (mixed)": (
        "smblab-mgmt",
        ["10.45.0.0/24", "10.45.10.0/24", "10.45.20.0/24", "10.45.30.0/24", "10.45.40.0/24"],
    ),
}
TIMEOUT = 1.0


def _targets(ranges: list[str]) -> list[list[object]]:
    import ipaddress

    return [[str(a), 445] for r in ranges for a in ipaddress.IPv4Network(r).hosts()]


def run_smbtests(namespace: str, ranges: list[str]) -> tuple[float, int]:
    request = json.dumps({"targets": _targets(ranges), "timeout": TIMEOUT, "concurrency": 512})
    start = time.perf_counter()
    done = subprocess.run(
        ["ip", "netns", "exec", namespace, "/usr/bin/python3", str(SCANNER)],
        input=request,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    elapsed = time.perf_counter() - start
    opened = sum('"state": "open"' in line for line in done.stdout.splitlines())
    return elapsed, opened


def nmap_command(ranges: list[str]) -> list[str]:
    return [
        "nmap",
        "-n",
        "-Pn",
        "-p445",
        "-T4",
        "--max-retries",
        "1",
        "--min-hostgroup",
        "256",
        "--min-parallelism",
        "256",
        "-oG",
        "-",
        *ranges,
    ]


def run_nmap(namespace: str, ranges: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(
        ["ip", "netns", "exec", namespace, *nmap_command(ranges)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    elapsed = time.perf_counter() - start
    return elapsed, done.stdout.count("445/open/")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if subprocess.run(["ip", "netns", "pids", "smblab-mgmt"], capture_output=True).returncode:
        print("the lab is not up: run `smbtests lab up` first (as root)", file=sys.stderr)
        return 2
    print(f"peer: {' '.join(nmap_command(['RANGES']))}")
    for label, (namespace, ranges) in CASES.items():
        ours = [run_smbtests(namespace, ranges) for _ in range(args.repeat)]
        theirs = [run_nmap(namespace, ranges) for _ in range(args.repeat)]
        ours_s = statistics.median(t for t, _ in ours)
        theirs_s = statistics.median(t for t, _ in theirs)
        print(
            f"{label}: smbtests {ours_s:.2f} s ({ours[0][1]} open), nmap {theirs_s:.2f} s "
            f"({theirs[0][1]} open); ratio nmap/smbtests = {theirs_s / ours_s:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
