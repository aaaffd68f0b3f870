"""The lab's daemons: what runs where, how it starts, how `lab` knows that it answers."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Literal

from smbtests.errors import LabError
from smbtests.lab import accounts, doubles, paths, procs, quic, reach, samba
from smbtests.lab.state import LabState
from smbtests.lab.topology import (
    CONTROL,
    CONTROL6,
    CONTROL_HOST,
    INTERNET_ROGUE_SMB,
    INTERNET_SMB,
    INTERNET_SMB6,
    INTERNET_SMB_HOST,
    NETBIOS_PORT,
    QUIC_CONTROLS,
    QUIC_ENDPOINTS,
    QUIC_HOST,
    SMB_PORT,
    SMB_PORT_CONTROL_HOST,
    SSH_PORT,
    WINRM_HTTP_PORT,
    WINRM_HTTPS_PORT,
    Endpoint,
    Host,
    host,
    hosts_with_role,
)
from smbtests.lab.wsman import write_state

Kind = Literal["smbd", "sshd", "listener", "wsman", "quic"]
READY_WAIT = 10.0
CHECK_TIMEOUT = 1.0


@dataclass(frozen=True)
class Service:
    name: str  # "<host>/<what>": the key in state.json
    host: Host
    kind: Kind
    endpoint: Endpoint
    # Where the answer is checked from: mgmt may reach everything through the router, except
    # SMB on the internet, which the perimeter rule stops even for mgmt.
    check_from: str
    # Further ports the same process answers on, as (what, port): each is checked and shown
    # under its own name "<host>/<what>", while the process stays tracked under `name` alone.
    more_ports: tuple[tuple[str, int], ...] = ()
    alpn: str = "smb"  # a QUIC stand-in's ALPN

    @property
    def answers(self) -> dict[str, Endpoint]:
        """Name -> endpoint of every port the service must answer on, its own name first."""
        found = {self.name: self.endpoint}
        for what, port in self.more_ports:
            found[f"{self.host.name}/{what}"] = _at(self.host, port)
        return found

    def argv(self) -> list[str]:
        directory = paths.service_dir(self.name)
        if self.kind == "smbd":
            return [
                sys.executable, "-m", "smbtests.lab.launch",
                str(directory / "log"), str(paths.SAMBA_SYSTEM_LOG_DIR), "--",
                "smbd", "--foreground", "--no-process-group", "--debug-stdout",
                "-s", str(samba.config_path(self.name)),
            ]  # fmt: skip
        if self.kind == "sshd":
            return ["/usr/sbin/sshd", "-D", "-e", "-f", str(directory / "sshd_config")]
        if self.kind == "wsman":
            double = doubles.DOUBLES[self.host.name]
            return [
                sys.executable, "-m", "smbtests.lab.wsman",
                "--bind", str(self.host.address),
                "--http-port", str(WINRM_HTTP_PORT), "--https-port", str(WINRM_HTTPS_PORT),
                "--state", str(double.state_file), "--cert-dir", str(double.directory),
                "--user", accounts.WIN_USER, "--password-file", str(paths.WIN_PASSWORD_FILE),
                "--hostname", double.host,
            ]  # fmt: skip
        if self.kind == "quic":
            return [
                sys.executable, "-m", "smbtests.lab.quic",
                str(self.endpoint.address), str(self.endpoint.port), self.alpn,
                str(quic.CERT_FILE), str(quic.KEY_FILE),
            ]  # fmt: skip
        return [
            sys.executable, "-m", "smbtests.lab.listener",
            str(self.endpoint.address), str(self.endpoint.port),
        ]  # fmt: skip


def _service(
    host_: Host,
    what: str,
    kind: Kind,
    endpoint: Endpoint,
    check_from: str,
    more_ports: tuple[tuple[str, int], ...] = (),
) -> Service:
    return Service(f"{host_.name}/{what}", host_, kind, endpoint, check_from, more_ports)


def _at(host_: Host, port: int) -> Endpoint:
    return Endpoint(host_.address, port)


MGMT_NS = host("mgmt").namespace


def _double(host_: Host) -> Service:
    """A WS-Management double: one process, WinRM over HTTP (5985) and over HTTPS (5986)."""
    # Checked from mgmt, the only segment its firewall admits.
    return _service(
        host_,
        "wsman",
        "wsman",
        _at(host_, WINRM_HTTP_PORT),
        MGMT_NS,
        more_ports=(("wsman-tls", WINRM_HTTPS_PORT),),
    )


COMPLIANT_SERVICES: tuple[Service, ...] = (
    *(
        _service(h, "smbd", "smbd", _at(h, SMB_PORT), MGMT_NS)
        for h in hosts_with_role("smb-server")
    ),
    _service(CONTROL_HOST, "control", "listener", CONTROL, MGMT_NS),
    _service(CONTROL_HOST, "control6", "listener", CONTROL6, MGMT_NS),
    *(_service(h, "sshd", "sshd", _at(h, SSH_PORT), MGMT_NS) for h in hosts_with_role("probe")),
    _service(
        INTERNET_SMB_HOST, "smb-listener", "listener", INTERNET_SMB, INTERNET_SMB_HOST.namespace
    ),
    _service(
        INTERNET_SMB_HOST, "smb-listener6", "listener", INTERNET_SMB6, INTERNET_SMB_HOST.namespace
    ),
    # guest1's SMB-port control, in both families; checked from its own namespace, since the
    # scenario probe-blocks-own-445 stops guest1's connects to it by design
    *(
        _service(
            SMB_PORT_CONTROL_HOST,
            f"{what}{suffix}",
            "listener",
            Endpoint(address, port),
            SMB_PORT_CONTROL_HOST.namespace,
        )
        for what, port in (("smb-control", SMB_PORT), ("netbios-control", NETBIOS_PORT))
        for suffix, address in (
            ("", SMB_PORT_CONTROL_HOST.address),
            ("6", SMB_PORT_CONTROL_HOST.address6),
        )
    ),
    # win1, a Windows endpoint; dc1's Windows configuration, beside dc1's smbd (doubles.py).
    *(_double(host(name)) for name in doubles.DOUBLES),
    # SMB over QUIC: the stand-in in front of fs1 and the QUIC control (lab/quic.py), one
    # process per address like the TCP listeners
    *(
        _service(QUIC_HOST, f"{what}{suffix}", "quic", endpoint, MGMT_NS)
        for what, endpoints in (("quic", QUIC_ENDPOINTS), ("quic-control", QUIC_CONTROLS))
        for suffix, endpoint in zip(("", "6"), endpoints, strict=True)
    ),
)

ROGUE_SMBD = _service(host("iot1"), "smbd", "smbd", _at(host("iot1"), SMB_PORT), MGMT_NS)
# Listeners only scenarios start: an SMB server on the internet nobody declared, and a
# workstation (win1) publishing 445 to its own segment.
ROGUE_INTERNET_SMB = _service(
    host("inet1"), "rogue-smb", "listener", INTERNET_ROGUE_SMB, host("inet1").namespace
)
WORKSTATION_SMB = _service(
    host("win1"), "smb-listener", "listener", _at(host("win1"), SMB_PORT), host("win1").namespace
)
# fs1's QUIC stand-in on IPv4 answering another ALPN (HTTP/3's) in its place
QUIC_WRONG_ALPN = Service(
    f"{QUIC_HOST.name}/quic-h3", QUIC_HOST, "quic", QUIC_ENDPOINTS[0], MGMT_NS, alpn="h3"
)
SCENARIO_SERVICES = (ROGUE_SMBD, ROGUE_INTERNET_SMB, WORKSTATION_SMB, QUIC_WRONG_ALPN)

ALL_SERVICES: dict[str, Service] = {s.name: s for s in (*COMPLIANT_SERVICES, *SCENARIO_SERVICES)}


def write_sshd_config(service: Service) -> None:
    template = Template(
        resources.files("smbtests.lab").joinpath("files/sshd_config.in").read_text()
    )
    text = template.substitute(
        host=service.host.name,
        address=service.host.address,
        host_key=paths.host_key(service.host.name),
        authorized_keys=paths.AUTHORIZED_KEYS,
    )
    (paths.service_dir(service.name) / "sshd_config").write_text(text)


def prepare(service: Service, smb_settings: samba.SambaSettings | None = None) -> None:
    """Everything a service needs on disk before its first start."""
    paths.service_dir(service.name).mkdir(parents=True, exist_ok=True, mode=0o700)
    if service.kind == "smbd":
        settings = smb_settings or samba.COMPLIANT[service.host.name]
        samba.prepare_instance(service.name, service.host, settings)
    elif service.kind == "sshd":
        write_sshd_config(service)
    elif service.kind == "quic":
        quic.prepare_tls([str(e.address) for e in (*QUIC_ENDPOINTS, *QUIC_CONTROLS)])
    elif service.kind == "wsman":
        double = doubles.DOUBLES[service.host.name]
        write_state(double.state_file, double.compliant())


def is_running(service: Service, state: LabState) -> bool:
    tracked = state.processes.get(service.name)
    return tracked is not None and procs.is_running(tracked)


def start(service: Service, state: LabState) -> None:
    if is_running(service, state):
        return
    log = paths.service_dir(service.name) / "daemon.log"
    state.processes[service.name] = procs.spawn(service.host.namespace, service.argv(), log)
    state.save()


def stop(service: Service, state: LabState) -> None:
    tracked = state.processes.get(service.name)
    if tracked is None:
        return
    others = [p for name, p in state.processes.items() if name != service.name]
    procs.terminate(procs.service_pids(tracked, others))
    del state.processes[service.name]
    state.save()


def restart(service: Service, state: LabState) -> None:
    stop(service, state)
    start(service, state)
    wait_ready([service])


def check(services: list[Service], wait: float = 0.0) -> dict[str, str]:
    """Answer name (`Service.answers`) -> connect result, checked from each `check_from`."""
    requests: dict[str, list[Endpoint]] = {}
    for service in services:
        requests.setdefault(service.check_from, []).extend(service.answers.values())
    answers = reach.check_many(requests, CHECK_TIMEOUT, wait)
    return {
        name: answers[s.check_from][str(endpoint)]
        for s in services
        for name, endpoint in s.answers.items()
    }


def wait_ready(services: list[Service]) -> None:
    """Poll (bounded) until every service answers; name the ones that do not."""
    results = check(services, wait=READY_WAIT)
    silent = {name: state for name, state in results.items() if state != "open"}
    if silent:
        found = ", ".join(f"{name} ({state})" for name, state in silent.items())
        logs = ", ".join(
            str(paths.service_dir(s.name) / "daemon.log")
            for s in services
            if not silent.keys().isdisjoint(s.answers)
        )
        raise LabError(f"not answering after {READY_WAIT:g} s: {found}; see {logs}")
