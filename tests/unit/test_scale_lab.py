"""`lab up --scale N` (smbtests/lab/scale.py) and benchmarks/scale.py: the pure parts."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from collections.abc import Callable
from datetime import date
from ipaddress import IPv4Address
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from smbtests.checks.registry import build_plan
from smbtests.config import load
from smbtests.errors import LabError
from smbtests.lab import scale

TODAY = date(2026, 12, 1)


def _benchmark() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "scale.py"
    spec = importlib.util.spec_from_file_location("benchmark_scale", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_farm_targets_are_consecutive_inside_the_farm_and_one_in_ten_listens() -> None:
    farm = scale.farm(2500)
    assert len(farm.targets) == len(set(farm.targets)) == 2500
    assert farm.targets[0] == IPv4Address("10.45.64.16")
    assert all(a in scale.FARM for a in farm.targets)
    assert scale.FARM_HOST.address not in scale.FARM
    assert len(farm.listening) == 250
    assert scale.target_name(IPv4Address("10.45.65.7")) == "t-65-7"


@pytest.mark.parametrize("count", [0, -1, scale.MAX_TARGETS + 1])
def test_a_scale_the_farm_cannot_hold_is_refused(count: int) -> None:
    with pytest.raises(LabError, match="choose 1 to"):
        scale.farm(count)


def _plan(tmp_path: Path, count: int, environment: str) -> Counter[str]:
    for name, document in scale.documents(count).items():
        (tmp_path / name).write_text(yaml.safe_dump(document))
    return Counter(check.kind for check in build_plan(load(tmp_path / environment), TODAY))


def test_the_scale_environment_plans_four_probes_times_every_target(tmp_path: Path) -> None:
    kinds = _plan(tmp_path, 40, "scale.yaml")
    # the dialect checks are deselected by the benchmark (-m "not smb_hardening")
    assert kinds == {"reach": 4 * 40, "control": 4, "dialect": 40}


def test_the_posture_environment_checks_the_listening_targets(tmp_path: Path) -> None:
    kinds = _plan(tmp_path, 40, "posture.yaml")
    assert kinds == {"smb1": 4, "signing": 4, "dialect": 4, "reach": 4, "control": 1}


def test_tree_rss_sums_a_process_and_its_descendants_only() -> None:
    parents = {1: 0, 10: 1, 11: 10, 12: 11, 20: 1}
    rss = {1: 5, 10: 100, 11: 20, 12: 3, 20: 1000}
    assert _benchmark().tree_rss(10, parents, rss) == 123


def test_the_table_shows_medians_and_ratios_to_the_limit() -> None:
    bench = _benchmark()
    limit = bench.Row("limit", (1.0, 3.0, 1.2))
    ours = bench.Row("ours", (2.4, 2.5, 9.0), rss_mb=120.0)
    text = bench.render("title", [limit, ours], limit, {"ours": "<= 1.6x"})
    assert "1.20 s" in text
    assert "2.08x" in text
    assert "120 MB  <= 1.6x" in text


def test_posture_requests_are_the_checks_own_negotiates_framed_one_per_line(
    tmp_path: Path,
) -> None:
    from smbtests.config import DIALECTS
    from smbtests.smb.wire import _negotiate_request, _smb1_negotiate_request

    payloads = [
        _smb1_negotiate_request(),
        _negotiate_request(DIALECTS),
        _negotiate_request(("2.0.2",)),
    ]
    lines = _benchmark()._requests(tmp_path / "r", payloads).read_text().split()
    assert len(lines) == 3
    framed = [bytes.fromhex(line) for line in lines]
    assert all(int.from_bytes(f[:4], "big") == len(f) - 4 for f in framed)
    assert framed[0][4:8] == b"\xffSMB" and b"NT LM 0.12" in framed[0]
    assert all(f[4:8] == b"\xfeSMB" for f in framed[1:])


def test_the_serial_runs_time_is_split_into_start_up_items_and_allure() -> None:
    text = _benchmark().time_split(limit=1.34, collect=1.5, without_allure=8.25, serial=11.5)
    assert text == (
        "where the serial run's 11.50 s go: start-up, plan and collection 1.50 s; items and "
        "reports without Allure 6.75 s (the scans' own wait, ~1.34 s, overlaps them); "
        "Allure 3.25 s"
    )


def test_the_servers_cap_is_its_cores_over_its_cpu_for_a_hosts_connections() -> None:
    # 1,500 connections in 8.25 CPU s: 5.5 ms each; 6 a host on 2 cores: 2 / 0.033 = 60.6
    cap, text = _benchmark().server_cap(2, 6, 8.25, 1500)
    assert round(cap, 1) == 60.6
    assert "5.5 ms each" in text and "at most 61 hosts/s of 6 connections" in text


def test_n_auto_is_slower_only_beyond_serials_own_rounds() -> None:
    bench = _benchmark()
    serial = bench.Row("serial", (2.0, 2.2, 2.1))
    used = bench.not_slower(bench.Row("-n auto", (2.2, 2.3, 2.1)), serial, False)
    assert used.startswith("met: -n auto not slower")
    slower = bench.not_slower(bench.Row("-n auto", (2.3, 2.4, 2.5)), serial, False)
    assert slower.startswith("NOT met") and "dropped" not in slower


def test_a_dropped_n_is_the_same_run_unless_its_rounds_miss_serials() -> None:
    bench = _benchmark()
    serial = bench.Row("serial", (7.92, 8.15, 8.25))
    same = bench.not_slower(bench.Row("-n auto", (8.03, 8.43, 8.47)), serial, True)
    assert same.startswith("met: -n auto ran serial") and "8.03-8.47 s against 7.92-8.25" in same
    apart = bench.not_slower(bench.Row("-n auto", (8.3, 8.4, 8.5)), serial, True)
    assert apart.startswith("NOT met") and "dropped -n" in apart


def test_every_other_round_runs_the_cases_backwards(capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[str] = []

    def case(label: str) -> Callable[[], tuple[float, None]]:
        def run() -> tuple[float, None]:
            ran.append(label)
            return 1.0, None

        return run

    found = _benchmark()._rounds({label: case(label) for label in "abc"}, 3)
    assert ran == ["a", "b", "c", "c", "b", "a", "a", "b", "c"]
    assert all(len(runs) == 3 for runs in found.values())
    assert "round 2: c" in capsys.readouterr().out


def test_the_machine_is_as_busy_as_the_suite_and_the_server_kept_it() -> None:
    text = _benchmark().machine_busy(2, 3.0, 2.1, [3.6, 3.9, 3.7])
    assert text == (
        "the suite's 3.00 s: smbtests 2.10 CPU s (pytest and its Allure writer), the lab's smbd "
        "3.70 CPU s: 97% of the 2 cores busy"
    )
