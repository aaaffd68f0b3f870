"""`lab up --scale N`: the lab with N more SMB targets, for the benchmark (benchmarks/scale.py).

The targets live in one extra namespace, smblab-farm, as /32 addresses on its eth0, routed by
the router through a point-to-point link: the router and the probes resolve one neighbour
instead of N (the neighbour table is one per machine, 1024 entries: N on-link addresses would
overflow it). Every tenth target has a listener: one smbd bound to those addresses, so the
same addresses answer real SMB for the posture measurement. The router's ruleset is the lab's,
unchanged: it filters by source segment, so guest and internet are dropped, iot rejected, mgmt
accepted (the others answer with a reset from the farm itself, nothing listens there).

`lab up --scale N` also writes two environments beside the lab's state, which the suite runs
against (the lab's own `environments/lab.yaml` knows nothing of the farm):
- scale.yaml: probes mgmt, guest1, iot1 and inet1, each to every target on 445 (4 x N paths),
  the farm declared as SMB hosts under `mgmt -> *`, sweeps off;
- posture.yaml: mgmt alone, the listening targets as SMB hosts with SMB1 refused, signing
  required and a dialect floor, for `-m smb_hardening` (smb1, signing, dialect).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

import yaml

from smbtests.errors import LabError
from smbtests.lab import netns, paths, reach, samba, services
from smbtests.lab.state import LabState
from smbtests.lab.topology import (
    CONTROL,
    ROUTER_NAMESPACE,
    SEGMENTS,
    SMB_PORT,
    Endpoint,
    Host,
    Segment,
    host,
)

FARM = IPv4Network("10.45.64.0/20")
FIRST_TARGET = 16  # host number of the first target in FARM: .0-.15 stay unused
MAX_TARGETS = FARM.num_addresses - FIRST_TARGET - 1  # the broadcast address is never a target
LISTENING_EVERY = 10  # ~10% of the targets listen
# The point-to-point link router <-> farm: the farm's own address is not a target.
LINK = Segment(
    "farm",
    IPv4Network("10.45.63.0/30"),
    IPv4Address("10.45.63.1"),
    IPv6Network("fd45:0:0:63::/64"),
    IPv6Address("fd45:0:0:63::1"),
)
FARM_HOST = Host("farm", LINK, IPv4Address("10.45.63.2"), "smb-server")
FLOOR = "2.1"  # the posture's dialect floor, and the farm smbd's `server min protocol`
FARM_LINK = "v-farm"  # the router's end; the farm's end is eth0

SCALE_DIR = paths.STATE_DIR / "scale"
SCALE_ENVIRONMENT = SCALE_DIR / "scale.yaml"
POSTURE_ENVIRONMENT = SCALE_DIR / "posture.yaml"
# the probes of the scaled run: one of each answer the router gives (accepted, dropped, rejected)
SCALE_PROBES = ("mgmt", "guest1", "iot1", "inet1")
CONNECT_TIMEOUT = 1.0
READY_TIMEOUT = 1.0
READY_WAIT = 20.0


@dataclass(frozen=True)
class Farm:
    targets: tuple[IPv4Address, ...]

    @property
    def listening(self) -> tuple[IPv4Address, ...]:
        return self.targets[::LISTENING_EVERY]


def farm(count: int) -> Farm:
    """The first `count` targets of the farm; a count the farm cannot hold is a LabError."""
    if not 1 <= count <= MAX_TARGETS:
        raise LabError(f"--scale {count}: choose 1 to {MAX_TARGETS} targets")
    first = int(FARM.network_address) + FIRST_TARGET
    return Farm(tuple(IPv4Address(first + i) for i in range(count)))


def target_name(address: IPv4Address) -> str:
    """t-64-16 for 10.45.64.16: short, unique, and says where it is."""
    _, _, third, fourth = str(address).split(".")
    return f"t-{third}-{fourth}"


def _segments() -> dict[str, Any]:
    kinds = {
        "mgmt": "mgmt",
        "servers": "servers",
        "corp": "trusted",
        "guest": "untrusted",
        "iot": "untrusted",
        "internet": "perimeter",
    }
    found: dict[str, Any] = {
        s.name: {"kind": kinds[s.name], "cidrs": [str(s.subnet)]} for s in SEGMENTS
    }
    found["farm"] = {"kind": "servers", "cidrs": [str(FARM)], "description": "lab --scale targets"}
    return found


def _probe(name: str) -> dict[str, Any]:
    probe = host(name)
    control = {"address": str(CONTROL.address), "port": CONTROL.port}
    if probe.role == "runner":
        found = {"transport": "local", "source_address": str(probe.address)}
    else:
        found = {
            "transport": "ssh",
            "address": str(probe.address),
            "user": "smbprobe",
            "key": str(paths.CLIENT_KEY),
            "known_hosts": str(paths.KNOWN_HOSTS),
            "python": "/usr/bin/python3",
        }
    return {"segment": probe.segment.name, **found, "control": control}


def _environment(name: str, probes: tuple[str, ...], concurrency: int) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"smbtests lab at scale ({name}), written by `smbtests lab up --scale`",
        "policy": f"{name}-policy.yaml",
        "scope": ["10.45.0.0/16", "198.51.100.0/24"],
        "timing": {
            "connect_timeout": CONNECT_TIMEOUT,
            # every target in flight at once, started as fast as the lab takes them: the
            # benchmark compares with a connect-all; keep the defaults on a real network
            "concurrency": concurrency,
            "connects_per_second": 20000,
            "probe_timeout": 120,
            "smb_timeout": 5,
        },
        "probes": {probe: _probe(probe) for probe in probes},
    }


def _policy(name: str, hosts: tuple[IPv4Address, ...], posture: bool) -> dict[str, Any]:
    # posture: SMB1 refused, signing required and the dialect floor (the `dialect` kind applies
    # always); the paths run leaves hardening at scale to the posture environment
    refused, required = ("refused", "required") if posture else ("allowed", "optional")
    return {
        "version": 1,
        "name": f"smbtests lab at scale ({name})",
        "segments": _segments(),
        "smb_hosts": {target_name(a): {"address": str(a), "role": "file"} for a in hosts},
        "smb_ports": [SMB_PORT],
        "approved_paths": [
            {"from": ["mgmt"], "to": ["*"], "reason": "administration of every SMB host"}
        ],
        "hardening": {
            "smb1": refused,
            "signing": required,
            "min_dialect": FLOOR,
            "encryption": "optional",
            "anonymous": "allowed",
            "guest": "allowed",
        },
        "sweep": {"enabled": False},
    }


def documents(count: int) -> dict[str, dict[str, Any]]:
    """File name -> document of the two environments and their policies (pure)."""
    scaled = farm(count)
    concurrency = min(4096, max(128, count))
    return {
        "scale.yaml": _environment("scale", SCALE_PROBES, concurrency),
        "scale-policy.yaml": _policy("scale", scaled.targets, posture=False),
        "posture.yaml": _environment("posture", ("mgmt",), concurrency),
        "posture-policy.yaml": _policy("posture", scaled.listening, posture=True),
    }


def _write_environments(count: int) -> None:
    SCALE_DIR.mkdir(mode=0o700, exist_ok=True)
    for file_name, document in documents(count).items():
        text = f"# written by `smbtests lab up --scale {count}`; gone with `lab down`\n"
        (SCALE_DIR / file_name).write_text(text + yaml.safe_dump(document, sort_keys=False))


def _batch(namespace: str, lines: list[str]) -> None:
    netns.run(["ip", "-n", namespace, "-batch", "-"], stdin="".join(f"{line}\n" for line in lines))


def _build_network(scaled: Farm) -> None:
    namespace = FARM_HOST.namespace
    netns.add(namespace)
    netns.ip(namespace, "link", "set", "lo", "up")
    netns.ip(
        ROUTER_NAMESPACE, "link", "add", FARM_LINK,
        "type", "veth", "peer", "name", "eth0", "netns", namespace,
    )  # fmt: skip
    prefix = LINK.subnet.prefixlen
    netns.ip(ROUTER_NAMESPACE, "addr", "add", f"{LINK.gateway}/{prefix}", "dev", FARM_LINK)
    netns.ip(ROUTER_NAMESPACE, "link", "set", FARM_LINK, "up")
    netns.ip(ROUTER_NAMESPACE, "route", "add", str(FARM), "via", str(FARM_HOST.address))
    _batch(
        namespace,
        [
            f"addr add {FARM_HOST.address}/{prefix} dev eth0",
            f"addr add {FARM_HOST.address6}/{LINK.subnet6.prefixlen} dev eth0 nodad",
            *(f"addr add {address}/32 dev eth0" for address in scaled.targets),
            "link set eth0 up",
            f"route add default via {LINK.gateway}",
        ],
    )


def _farm_smbd() -> services.Service:
    first = farm(1).targets[0]
    return services.Service(
        "farm/smbd", FARM_HOST, "smbd", Endpoint(first, SMB_PORT), host("mgmt").namespace
    )


def _start_listeners(scaled: Farm, lab: LabState) -> None:
    settings = samba.SambaSettings(
        encrypt="desired",
        shares=(),
        extra_interfaces=tuple(f"{address}/32" for address in scaled.listening),
        # the floor of the farm's policy: the posture proves it with a refused negotiate
        min_protocol=samba.PROTOCOLS[FLOOR],
    )
    service = _farm_smbd()
    services.prepare(service, settings)
    services.start(service, lab)
    endpoints = [Endpoint(address, SMB_PORT) for address in scaled.listening]
    answers = reach.check_many({service.check_from: endpoints}, READY_TIMEOUT, READY_WAIT)
    silent = [name for name, state in answers[service.check_from].items() if state != "open"]
    if silent:
        log = paths.service_dir(service.name) / "daemon.log"
        raise LabError(
            f"the farm's smbd does not answer on {len(silent)} of {len(endpoints)} addresses "
            f"(first: {silent[0]}) after {READY_WAIT:g} s; see {log}"
        )


def build(count: int, lab: LabState) -> Farm:
    """Add the farm to a lab that is up: network, listeners, the two environments."""
    scaled = farm(count)
    _build_network(scaled)
    _start_listeners(scaled, lab)
    _write_environments(count)
    return scaled
