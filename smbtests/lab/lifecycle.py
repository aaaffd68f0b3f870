"""`lab up` and `lab down`: build everything from nothing, and leave nothing behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from smbtests.errors import LabError
from smbtests.lab import (
    accounts,
    doubles,
    netns,
    network,
    nflog,
    paths,
    procs,
    scale,
    scenarios,
    services,
    state,
)
from smbtests.lab.topology import ROUTER_NAMESPACE, host, hosts_with_role

# Program -> Debian package that ships it.
REQUIRED_PROGRAMS = {
    "ip": "iproute2",
    "nft": "nftables",
    "smbd": "samba",
    "smbpasswd": "samba",
    "/usr/sbin/sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
    "sysctl": "procps",
    "mount": "mount",
    "useradd": "passwd",
    "/usr/bin/python3": "python3",
}


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError(
            "the lab needs root (network namespaces, nftables, smbd, sshd): "
            "run it as root, e.g. `sudo smbtests lab ...`"
        )


def require_programs() -> None:
    missing = {prog: pkg for prog, pkg in REQUIRED_PROGRAMS.items() if shutil.which(prog) is None}
    if missing:
        packages = sorted(set(missing.values()))
        raise LabError(
            f"missing {', '.join(missing)}: install the Debian package(s) with "
            f"`apt-get install -y {' '.join(packages)}`"
        )


def _make_dir(path: Path, mode: int) -> None:
    path.mkdir(mode=mode, exist_ok=True)
    path.chmod(mode)  # mkdir's mode is masked by the umask


def _create_state_dirs() -> None:
    # 0711, not 0700: sshd reads authorized_keys and smbd serves the shares as the lab users, who
    # must traverse this directory. Nobody but root can list it, and everything secret sits in
    # 0700 directories or 0600 files below it.
    _make_dir(paths.STATE_DIR, 0o711)
    _make_dir(paths.SECRETS_DIR, 0o700)
    _make_dir(paths.SSH_DIR, 0o711)
    _make_dir(paths.HOST_KEYS_DIR, 0o700)
    _make_dir(paths.SERVICES_DIR, 0o700)
    _make_dir(paths.SHARES_DIR, 0o711)
    # The doubles' TLS keys live here; their only readers, the doubles and the runner, are root.
    for double in doubles.DOUBLES.values():
        _make_dir(double.directory, 0o700)


def _ensure_sshd_privsep_dir(lab: state.LabState) -> None:
    if paths.SSHD_PRIVSEP_DIR.exists():
        return
    _make_dir(paths.SSHD_PRIVSEP_DIR, 0o755)
    lab.created_paths.append(str(paths.SSHD_PRIVSEP_DIR))
    lab.save()


def _sshd_running() -> bool:
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if comm.read_text().strip() == "sshd":
                return True
    return False


DENY_LOG_WAIT = 5.0


@dataclass(frozen=True)
class DenyLogReader:
    """An NFLOG reader `lab up` runs in a namespace (smbtests/lab/nflog.py)."""

    name: str
    namespace: str
    path: Path
    format: tuple[str, ...] = ()  # (): netfilter lines; ("pfirewall",): Windows Firewall log


# Group 1 in each namespace: NFLOG groups are per network namespace.
DENY_LOG_READERS = (
    DenyLogReader("router", ROUTER_NAMESPACE, paths.ROUTER_DENY_LOG),
    # win1's own drops (files/win1.nft), the log its WS-Man double answers from
    DenyLogReader("win1", host("win1").namespace, paths.WIN1_FIREWALL_LOG, ("pfirewall",)),
)


def _start_deny_log(lab: state.LabState, reader: DenyLogReader) -> None:
    """One NFLOG reader (nflog.py), bound before any probe sends."""
    log = paths.SERVICES_DIR / f"{reader.name}-nflog.log"
    reader.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    argv = [
        sys.executable, "-m", "smbtests.lab.nflog",
        str(paths.ROUTER_NFLOG_GROUP), str(reader.path), *reader.format,
    ]  # fmt: skip
    name = f"{reader.name}/nflog"
    lab.processes[name] = procs.spawn(reader.namespace, argv, log)
    lab.save()
    deadline = time.monotonic() + DENY_LOG_WAIT
    while time.monotonic() < deadline:  # bounded: the reader writes its marker once bound
        if reader.path.is_file() and nflog.READY in reader.path.read_text():
            return
        if not procs.is_running(lab.processes[name]):
            break
        time.sleep(0.05)
    raise LabError(f"{reader.name}'s deny-log reader did not bind NFLOG; see {log}")


def up(scenario: str | None = None, farm_targets: int = 0) -> state.LabState:
    """Tear down whatever a previous lab left, then build and start everything, then wait.
    With `farm_targets`, the farm of that many extra targets too (scale.py)."""
    require_root()
    require_programs()
    if scenario is not None and scenario not in scenarios.SCENARIOS:
        raise LabError(f"unknown scenario {scenario!r}; `smbtests lab scenario --list` shows them")
    if farm_targets:
        scale.farm(farm_targets)  # a count out of range fails before anything is torn down
    down()
    _create_state_dirs()
    lab = state.LabState()
    lab.save()
    try:
        accounts.ensure_users(lab)
        _ensure_sshd_privsep_dir(lab)
        accounts.create_smb_password()
        accounts.create_win_password()
        accounts.create_ssh_keys(hosts_with_role("probe"))
        network.build()
        for reader in DENY_LOG_READERS:
            _start_deny_log(lab, reader)
        for service in services.COMPLIANT_SERVICES:
            services.prepare(service)
            services.start(service, lab)
        services.wait_ready(list(services.COMPLIANT_SERVICES))
        network.announce_secondary_addresses()
        if farm_targets:
            scale.build(farm_targets, lab)
        if scenario is not None:
            scenarios.apply(scenario, lab)
    except BaseException as exc:
        # Half a lab is worse than none: undo everything recorded so far, then report.
        try:
            down()
        except LabError as cleanup:
            exc.add_note(f"removing the half-built lab failed too: {cleanup}")
        raise
    return lab


def down() -> None:
    """End every lab process, delete the namespaces, the users and paths `up` created, the state.

    Safe to run at any time, also with no lab or half a lab: it acts on what exists.
    """
    require_root()
    try:
        recorded = state.load()
    except LabError:
        recorded = None  # unreadable record: still clear everything named like the lab
    namespaces = netns.lab_namespaces()
    pids = {pid for namespace in namespaces for pid in netns.pids(namespace)}
    if recorded is not None:
        # A tracked process outside any lab namespace is one whose namespace someone deleted.
        pids |= {p.pid for p in recorded.processes.values() if procs.is_running(p)}
    procs.terminate(pids)
    for namespace in namespaces:
        netns.delete(namespace)
    if recorded is not None:
        accounts.remove_users(recorded.created_users)
        for created in recorded.created_paths:
            if Path(created) == paths.SSHD_PRIVSEP_DIR and _sshd_running():
                continue  # someone else's sshd chroots into it: leaving it is the safe side
            try:
                Path(created).rmdir()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise LabError(f"cannot remove {created}, which `lab up` created: {exc}") from exc
    if paths.STATE_DIR.exists():
        shutil.rmtree(paths.STATE_DIR)
