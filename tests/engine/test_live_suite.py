"""The policy suite against the real lab: the compliant lab passes every check, and each
scenario is caught by exactly the checks that should catch it, with the right outcome."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from smbtests.checks.registry import build_plan
from smbtests.config import load
from smbtests.dates import utc_today
from tests.conftest import Lab

ROOT = Path(__file__).resolve().parents[2]
PYTEST = [sys.executable, "-m", "pytest", "--env", "lab", "-p", "no:cacheprovider", "-q"]

SMB_HOSTS = ("fs1", "dc1", "print1")
SMB_PORTS = (445, 139)
IPV6 = {"fs1": "fd45:0:0:10::11", "dc1": "fd45:0:0:10::12", "print1": "fd45:0:0:10::13"}
PLAN = build_plan(load(ROOT / "environments" / "lab.yaml"), utc_today())
PLANNED = len(PLAN)


def to_hosts(source: str, ipv6: bool = False, ports: tuple[int, ...] = SMB_PORTS) -> list[str]:
    """reach ids from `source` to every SMB host, at its IPv4 (or IPv6) address."""
    return [
        f"reach:{source}/{host}{f'[{IPV6[host]}]' if ipv6 else ''}:{port}"
        for host in SMB_HOSTS
        for port in ports
    ]


def unprovable(probe: str) -> dict[str, str]:
    """A probe that proves nothing: every check from it errors, none passes or fails."""
    return {check.id: "error" for check in PLAN if check.probe == probe}


def seen_from(probes: tuple[str, ...], ranges: tuple[str, ...], port: int) -> dict[str, str]:
    """The sweeps of these ranges on this port, from these probes, failing."""
    return {f"sweep:{p}/{r}:{port}": "failed" for p in probes for r in ranges}


# scenario -> {check id: outcome}; every check not named must pass
EXPECTED: dict[str, dict[str, str]] = {
    "compliant": {},
    "guest-445-open": {"reach:guest1/fs1:445": "failed"},
    # SMB over the NetBIOS session service bypasses a 445-only block
    "netbios-139-open": {"reach:guest1/fs1:139": "failed"},
    # a one-host exception implemented as a whole-segment rule: iot1's second address sees it
    "exception-whole-segment": {"reach:iot1[10.45.40.42]/print1:445": "failed"},
    # guest's deny rules written for IPv4 only: over IPv6 fs1's QUIC stand-in answers guest too
    "ipv6-left-open": {
        **dict.fromkeys(to_hosts("guest1", ipv6=True), "failed"),
        "quic:guest1/fs1[fd45:0:0:10::11]:443": "failed",
    },
    "iot-445-open": {
        "reach:iot1/fs1:445": "failed",
        "reach:iot1/dc1:445": "failed",
        # iot1's second address is no exception's source: print1 too must stay closed to it
        **{f"reach:iot1[10.45.40.42]/{h}:445": "failed" for h in SMB_HOSTS},
    },
    "internet-445-open": {
        "reach:inet1/fs1:445": "failed",
        "reach:inet1/dc1:445": "failed",
        "reach:inet1/print1:445": "failed",
    },
    # win1 sits in corp too: the Windows vantage sees the same broken path
    # smb-path cannot even connect there: unprovable (reach already fails the path)
    "approved-path-blocked": {
        "reach:corp1/fs1:445": "failed",
        "reach:win1/fs1:445": "failed",
        "smb-path:corp1/fs1": "error",
        "smb-path:win1/fs1": "error",
    },
    # handshakes complete (reach passes), SMB does not: only the end-to-end checks see it, from
    # corp1's sshd channels and from win1's own SMB client alike
    "approved-path-broken": {"smb-path:corp1/fs1": "failed", "smb-path:win1/fs1": "failed"},
    "fs1-refuses-corp": {"smb-path:corp1/fs1": "failed", "smb-path:win1/fs1": "failed"},
    # one client address refused at the share: only the vantage standing there sees it
    "fs1-share-refuses-win1": {"smb-path:win1/fs1": "failed"},
    "sysvol-unreadable-from-corp": {"smb-path:corp1/dc1": "failed", "smb-path:win1/dc1": "failed"},
    # the wire accepts SMB1 while dc1's own configuration says it is off: drift
    "smb1-enabled": {"smb1:dc1": "failed", "drift:dc1": "failed"},
    # named addresses (win-445-rules passes) reaching beyond corp and mgmt into guest
    "dc1-445-scope-widened": {"win-445-scope:dc1": "failed"},
    # declared for remote access, QUIC off: client access control alone does not pass it
    "dc1-quic-off": {"win-quic:dc1": "failed"},
    # SMB over QUIC for remote users: fs1's stand-in gone (ICMP port unreachable, its control
    # answering), answering another ALPN on IPv4, or let in from every segment (IPv4)
    "quic-endpoint-down": {
        "quic:inet1/fs1:443": "failed",
        "quic:inet1/fs1[fd45:0:0:10::11]:443": "failed",
    },
    "quic-alpn-wrong": {"quic:inet1/fs1:443": "failed"},
    # dc1's configuration demands encryption, its smbd does not: only the comparison sees it
    "dc1-encryption-drift": {"drift:dc1": "failed"},
    # dc1's 445 rule leaves mgmt out, its smbd answers the runner there all the same
    "dc1-firewall-drift": {"drift:dc1": "failed"},
    "quic-open-to-all": {
        "quic:guest1/fs1:443": "failed",
        "quic:iot1/fs1:443": "failed",
        "quic:iot1[10.45.40.42]/fs1:443": "failed",
    },
    "dialect-below-floor": {"dialect:print1": "failed"},
    "signing-optional": {"signing:print1": "failed"},
    # guests cannot be let in while fs1 demands encryption, so the scenario relaxes it too
    "guest-access": {"anonymous:fs1": "failed", "encryption:fs1": "failed"},
    # an undeclared smbd on iot1 (both families, both ports): iot1 itself and mgmt reach it
    "rogue-smb-listener": {
        "discovery:10.45.40.0/24": "failed",
        **seen_from(("iot1", "mgmt"), ("10.45.40.0/24", "fd45:0:0:40::/64"), 445),
        **seen_from(("iot1", "mgmt"), ("10.45.40.0/24", "fd45:0:0:40::/64"), 139),
    },
    # the edge publishes fs1's 445: from the internet at the public address, and (as a real
    # port-forward does) from inside, where every probe's sweep of the internet side finds it
    "edge-port-forward": {
        "discovery:198.51.100.0/24": "failed",
        "sweep:inet1/public:445": "failed",
        **seen_from(("corp1", "guest1", "iot1", "mgmt"), ("198.51.100.0/24",), 445),
    },
    # fs1's undeclared second address answers SMB: guest (let through) and mgmt see it
    "server-second-address": {
        "discovery:10.45.10.0/24": "failed",
        "sweep:guest1/10.45.10.0/24:445": "failed",
        **seen_from(("mgmt",), ("10.45.10.0/24",), 445),
        **seen_from(("mgmt",), ("10.45.10.0/24",), 139),
    },
    "undeclared-outbound-smb": seen_from(("corp1",), ("198.51.100.0/24",), 445),
    # only TCP answers guest's denied path: a failure that says so (observed tcp-only)
    "denied-path-tcp-only": {"reach:guest1/fs1:445": "failed"},
    # a workstation listening on 445 in its own segment: its neighbour corp1 and mgmt see it
    "workstation-publishes-445": {
        "discovery:10.45.20.0/24": "failed",
        **seen_from(("corp1", "mgmt"), ("10.45.20.0/24",), 445),
    },
    "probe-down": unprovable("guest1"),
    "probe-blind": unprovable("guest1"),
    # guest1's own host drops only its SMB ports: its routed control (8000) still answers, its
    # SMB-port control (guestctl) does not, so every check of guest1 on 445 or 139 errors
    "probe-blocks-own-445": {
        check.id: "error"
        for check in PLAN
        if check.probe == "guest1" and check.id.endswith((":445", ":139"))
    },
    # an expired exception fails on paper, and its path is no longer allowed to be open
    "exception-expired": {"exception:EXC-0001": "failed", "reach:iot1/print1:445": "failed"},
    "win-smb1-enabled": {"win-smb1:win1": "failed"},
    "win-signing-off": {"win-signing:win1": "failed"},
    "win-firewall-logging-off": {"win-firewall-log:win1": "failed"},
    "win-445-allow-any": {"win-445-rules:win1": "failed"},
    "win-dialect-floor-lowered": {"win-dialect:win1": "failed"},
    "win-rate-limiter-off": {"win-auth-limiter:win1": "failed"},
    "win-ntlm-allowed": {"win-ntlm:win1": "failed"},
    "win-restrictive-open": {"win-restrictive:win1": "failed"},
    # the corp rule now applies in Public, which is in force: live, so win-profile's alone
    # (win-445-rules keeps the latent exposure, a Public rule while no interface is Public)
    "win-public-profile-445": {"win-profile:win1": "failed"},
    # win1's own outbound block explains any closed result: only the closed path is judged
    # closed there (the double's real connects still cross), and it errors instead of passing
    "win-outbound-445-blocked": {
        "reach:win1/inet-smb:445": "error",
        "reach:win1/inet-smb6:445": "error",
    },
    # WinRM itself fails: every check that needs win1 is unprovable, none passes or fails
    "win-auth-broken": {
        **unprovable("win1"),
        **{
            f"{kind}:win1": "error"
            for kind in (
                "win-smb1",
                "win-signing",
                "win-firewall",
                "win-firewall-log",
                "win-445-rules",
                "win-dialect",
                "win-auth-limiter",
                "win-guest-logons",
                "win-ntlm",
                "win-restrictive",
                "win-profile",
            )
        },
    },
}


def run_suite(
    lab: Lab, results: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    command = ["ip", "netns", "exec", "smblab-mgmt", *PYTEST, "--smb-results", str(results), *extra]
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "COLUMNS": "300",
        "SMBTESTS_LAB_SMB_PASSWORD": lab.smb_password(),
        "SMBTESTS_LAB_WIN_PASSWORD": (lab.state_dir / "secrets" / "win_password")
        .read_text()
        .strip(),
    }
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert results.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return done, json.loads(results.read_text())


def outcomes(document: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["outcome"] for c in document["checks"]}


@pytest.mark.lab
@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_scenario_caught_by_exactly_the_right_checks(
    lab: Lab, tmp_path: Path, scenario: str
) -> None:
    with lab.scenario(scenario):
        done, document = run_suite(lab, tmp_path / "results.json")
    seen = outcomes(document)
    # an expired exception's path is no longer approved: no smb-path:iot1/print1 is planned
    assert len(seen) == PLANNED - (scenario == "exception-expired")
    not_passed = {k: v for k, v in seen.items() if v != "passed"}
    assert not_passed == EXPECTED[scenario], unexpected(document, EXPECTED[scenario])
    assert done.returncode == (0 if scenario == "compliant" else 1)


def unexpected(document: dict[str, Any], expected: dict[str, str]) -> str:
    """The checks whose outcome differs from the scenario's expectation, with their messages."""
    return "\n".join(
        f"{c['id']}: {c['outcome']} (expected {expected.get(c['id'], 'passed')}): {c['message']}"
        for c in document["checks"]
        if c["outcome"] != expected.get(c["id"], "passed")
    )


@pytest.mark.lab
def test_failure_message_is_one_line_with_observation_and_rule(lab: Lab, tmp_path: Path) -> None:
    with lab.scenario("guest-445-open"):
        done, document = run_suite(lab, tmp_path / "results.json")
    record = next(c for c in document["checks"] if c["id"] == "reach:guest1/fs1:445")
    assert record["observed"] == "open"
    assert record["message"].startswith("guest1 -> fs1:445 OPEN (connected in ")
    assert record["message"].endswith(
        "policy: untrusted segment guest must not reach SMB hosts (step 2)"
    )
    # one terse line per check that did not pass, by its id, not repeated by pytest's summary
    assert "\nFAILED reach:guest1/fs1:445: guest1 -> fs1:445 OPEN (connected in " in done.stdout
    assert "FAILED plugins/live.py::test_policy[reach:guest1/fs1:445]" not in done.stdout
    # every verdict carries the UTC instant of its observation, inside the run's own times
    started, finished = (datetime.fromisoformat(document[k]) for k in ("started", "finished"))
    for check in document["checks"]:
        observed = datetime.fromisoformat(check["observed_at"])
        assert started - timedelta(seconds=1) <= observed <= finished + timedelta(seconds=1)


@pytest.mark.lab
def test_blind_probe_errors_name_the_control(lab: Lab, tmp_path: Path) -> None:
    with lab.scenario("probe-blind"):
        done, document = run_suite(lab, tmp_path / "results.json")
    record = next(c for c in document["checks"] if c["id"] == "reach:guest1/fs1:445")
    assert "could not prove it can connect" in record["message"]
    assert "\nERROR reach:guest1/fs1:445: guest1 -> fs1:445" in done.stdout


def junit_names(path: Path) -> list[tuple[str, str]]:
    cases = ElementTree.parse(path).getroot().iter("testcase")  # noqa: S314 - our own run
    return sorted((case.get("classname", ""), case.get("name", "")) for case in cases)


def printed_ids(stdout: str) -> list[str]:
    """Node ids as `-v` prints them, serial (`ID PASSED`) or under xdist (`[gw0] PASSED ID`),
    up to the next space: a suffix such as xdist's `@group` would count."""
    found = re.findall(r"plugins/live\.py::test_policy\[\S*", stdout)
    return sorted(set(found))


@pytest.mark.lab
def test_own_445_drop_errors_name_the_smb_port_control(lab: Lab, tmp_path: Path) -> None:
    with lab.scenario("probe-blocks-own-445"):
        _, document = run_suite(lab, tmp_path / "results.json")
    by_id = {c["id"]: c for c in document["checks"]}
    assert by_id["control:guest1"]["outcome"] == "passed"
    assert "10.45.30.30:445 was FILTERED" in by_id["reach:guest1/fs1:445"]["message"]
    assert "10.45.30.30:139 was FILTERED" in by_id["reach:guest1/fs1:139"]["message"]


@pytest.mark.lab
def test_xdist_run_matches_a_single_process_run(lab: Lab, tmp_path: Path) -> None:
    """Same outcomes, node ids, JUnit names with and without -n; a printed id pastes back."""
    serial_xml, parallel_xml = tmp_path / "single.xml", tmp_path / "parallel.xml"
    with lab.scenario("signing-optional"):
        # -vv: PYTEST's -q plus -vv prints one line per item
        done, single = run_suite(lab, tmp_path / "single.json", "-vv", f"--junitxml={serial_xml}")
        done_n, parallel = run_suite(
            lab,
            tmp_path / "parallel.json",
            "-n",
            "2",
            "--dist",
            "load",
            "-vv",
            f"--junitxml={parallel_xml}",
        )
    assert outcomes(single) == outcomes(parallel)
    assert outcomes(parallel)["signing:print1"] == "failed"
    assert junit_names(serial_xml) == junit_names(parallel_xml)
    assert len(junit_names(parallel_xml)) == PLANNED
    assert printed_ids(done.stdout) == printed_ids(done_n.stdout)
    assert len(printed_ids(done_n.stdout)) == PLANNED
    # an id printed under -n runs exactly that check, as a node id and as a -k string
    nodeid = next(i for i in printed_ids(done_n.stdout) if "reach:iot1[" in i)
    for args in ([nodeid], ["-k", nodeid.split("[", 1)[1][:-1]]):
        again, document = run_suite(
            lab, tmp_path / "again.json", "-n", "2", "--dist", "load", *args
        )
        assert list(outcomes(document)) == [nodeid.split("[", 1)[1][:-1]], again.stdout[-2000:]


@pytest.mark.lab
def test_scan_progress_shows_on_the_terminal_unless_quiet(lab: Lab, tmp_path: Path) -> None:
    """A scan longer than the 2 s interval (3 s connect timeout) reports settled/total and
    opens; PYTEST's -q alone keeps it quiet, -v (back to normal verbosity) shows it."""
    slow = ("--smb-connect-timeout", "3")
    shown, _ = run_suite(lab, tmp_path / "shown.json", *slow, "-v")
    done = re.search(
        r"smbtests: probe guest1 scan done: (\d+)/(\d+) targets settled, (\d+) open", shown.stdout
    )
    assert done is not None, shown.stdout[-3000:]
    settled, total, opened = map(int, done.groups())
    assert settled == total > 1 and opened >= 1  # its positive control answers
    quiet, _ = run_suite(lab, tmp_path / "quiet.json", *slow)
    assert "targets settled" not in quiet.stdout


@pytest.mark.lab
def test_canary_password_appears_in_no_output(lab: Lab, tmp_path: Path) -> None:
    """The lab's real password is the canary: it must reach no file the run writes."""
    allure = tmp_path / "allure"
    junit = tmp_path / "junit.xml"
    with lab.scenario("guest-access"):
        done, _ = run_suite(
            lab,
            tmp_path / "results.json",
            "--alluredir",
            str(allure),
            "--junitxml",
            str(junit),
            "-rA",
            "-l",
            "--log-level=DEBUG",
        )
    secrets = [lab.smb_password(), lab.win_password()]
    for secret in secrets:
        assert secret not in done.stdout + done.stderr
        for path in [tmp_path / "results.json", junit, *allure.iterdir()]:
            assert secret not in path.read_text(errors="ignore"), path
    assert "a secret was found" not in done.stdout
