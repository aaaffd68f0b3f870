"""The scanner tells open, refused, filtered, network-unreachable and probe-stack failures
apart, against real sockets and nftables in a scratch namespace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from smbtests.errors import ProbeError
from smbtests.observations import ConnectState, Target
from smbtests.probes._records import parse_lines, results_from_records

from .conftest import PYTHON, NetnsRun

SCANNER = Path(__file__).resolve().parents[2] / "smbtests" / "probes" / "scanner.py"
RULES = """
table inet scratch {
  chain input {
    type filter hook input priority 0;
    tcp dport 9001 drop
    tcp dport 9002 reject with icmp type host-unreachable
  }
  chain output {
    type filter hook output priority 0;
    tcp dport 9003 drop
  }
}
"""


@pytest.fixture(scope="module")
def scan_net(in_netns: NetnsRun, scratch_netns: str) -> NetnsRun:
    result = in_netns("nft", "-f", "-", input=RULES)
    assert result.returncode == 0, result.stderr
    return in_netns


def scan(run: NetnsRun, targets: list[Target], timeout: float = 0.5, concurrency: int = 64) -> Any:
    listener = (
        "import socket,subprocess,sys\n"
        "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind(('127.0.0.1', 9000)); s.listen(512)\n"
        f"r=subprocess.run([sys.executable, {str(SCANNER)!r}], input=sys.stdin.read(),"
        " capture_output=True, text=True, timeout=60)\n"
        "sys.stdout.write(r.stdout); sys.stderr.write(r.stderr); sys.exit(r.returncode)\n"
    )
    request = {
        "targets": [[t.host, t.port] for t in targets],
        "timeout": timeout,
        "concurrency": concurrency,
    }
    done = run(PYTHON, "-c", listener, input=json.dumps(request))
    assert done.returncode == 0, done.stderr
    return results_from_records("scratch", targets, parse_lines("scratch", done.stdout))


@pytest.mark.parametrize(
    ("target", "state"),
    [
        (Target("127.0.0.1", 9000), ConnectState.OPEN),
        (Target("127.0.0.1", 9004), ConnectState.REFUSED),
        (Target("127.0.0.1", 9001), ConnectState.FILTERED),
        (Target("127.0.0.1", 9002), ConnectState.UNREACHABLE),
        # A drop in the probe's OWN output chain is indistinguishable from a network drop at the
        # socket (measured: SO_ERROR 0, SYN "retransmitted"): only the positive control, which
        # is dropped too, exposes it. See test_verdict's blind-probe cases.
        (Target("127.0.0.1", 9003), ConnectState.FILTERED),
        (Target("10.99.0.1", 445), ConnectState.ERROR),  # no route of its own
    ],
)
def test_each_state_is_told_apart(scan_net: NetnsRun, target: Target, state: ConnectState) -> None:
    (result,) = scan(scan_net, [target])
    assert result.state is state, result


def test_filtered_waits_the_timeout_and_others_do_not(scan_net: NetnsRun) -> None:
    results = scan(scan_net, [Target("127.0.0.1", 9001), Target("127.0.0.1", 9004)], 0.4)
    assert results[0].latency_ms >= 400
    assert results[1].latency_ms < 400


def test_many_targets_bounded_concurrency_keep_order(scan_net: NetnsRun) -> None:
    targets = [Target("127.0.0.1", port) for port in range(20000, 20300)]
    results = scan(scan_net, targets, concurrency=17)
    assert [r.target for r in results] == targets
    assert {r.state for r in results} == {ConnectState.REFUSED}


def test_incomplete_or_malformed_output_is_a_probe_error() -> None:
    targets = [Target("127.0.0.1", 1), Target("127.0.0.1", 2)]
    one = '{"i": 0, "state": "open", "errno": null, "ms": 1.0, "detail": "x"}\n{"done": 2}\n'
    with pytest.raises(ProbeError, match="1 of 2 targets answered"):
        results_from_records("p", targets, parse_lines("p", one))
    with pytest.raises(ProbeError, match="not JSON"):
        parse_lines("p", "Traceback (most recent call last):\n")
    odd = '{"i": 0, "state": "closed-ish", "errno": null, "ms": 1, "detail": ""}\n'
    with pytest.raises(ProbeError, match="malformed record"):
        results_from_records("p", targets[:1], parse_lines("p", odd))
