"""Samba instances: per-host settings, smb.conf rendering, the instance's own directories."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from smbtests.lab import accounts, paths
from smbtests.lab.netns import run
from smbtests.lab.topology import Host

INSTANCE_SUBDIRS = ("run", "lock", "state", "cache", "private", "ncalrpc", "log")


@dataclass(frozen=True)
class Share:
    name: str
    read_only: bool
    guest_ok: bool = False
    hosts_allow: str = ""  # empty: whoever the global setting admits
    # (relative path, content) files the share serves, e.g. a group policy's GPT.INI in SYSVOL
    files: tuple[tuple[str, str], ...] = ()


# smb.conf's name of each SMB2/3 dialect (`server min protocol`)
PROTOCOLS = {
    "2.0.2": "SMB2_02",
    "2.1": "SMB2_10",
    "3.0": "SMB3_00",
    "3.0.2": "SMB3_02",
    "3.1.1": "SMB3_11",
}


@dataclass(frozen=True)
class SambaSettings:
    """What differs between the lab's Samba instances and between scenarios."""

    encrypt: str
    shares: tuple[Share, ...]
    min_protocol: str = PROTOCOLS["2.0.2"]
    signing: str = "mandatory"
    restrict_anonymous: int = 2
    map_to_guest: str = "never"
    # addresses the instance also listens on (a second interface), each with its prefix length
    extra_interfaces: tuple[str, ...] = ()
    hosts_allow: str = "ALL"


# The Default Domain Policy as a Windows DC's SYSVOL holds it: what a client reads to process GPOs.
GPO = (
    (
        "smblab.example/Policies/{31B2F340-016D-11D2-945F-00C04FB984F9}/GPT.INI",
        "[General]\r\nVersion=1\r\ndisplayName=Default Domain Policy\r\n",
    ),
)

COMPLIANT: dict[str, SambaSettings] = {
    "fs1": SambaSettings(encrypt="required", shares=(Share("data", read_only=False),)),
    "dc1": SambaSettings(
        encrypt="desired",
        shares=(Share("netlogon", read_only=True), Share("sysvol", read_only=True, files=GPO)),
    ),
    # the lab policy's print role has the floor SMB 2.1 (hardening_by_role)
    "print1": SambaSettings(
        encrypt="desired", shares=(Share("scans", read_only=False),), min_protocol=PROTOCOLS["2.1"]
    ),
}

# The undeclared server of scenario rogue-smb-listener: hardened like the others, no shares; what
# matters is that something answers SMB where the inventory says nothing should.
ROGUE = SambaSettings(encrypt="desired", shares=())


def config_path(service_name: str) -> Path:
    return paths.service_dir(service_name) / "smb.conf"


def share_path(host: Host, share: Share) -> Path:
    return paths.SHARES_DIR / host.name / share.name


def _render_share(host: Host, share: Share) -> str:
    lines = [
        f"[{share.name}]",
        f"\tpath = {share_path(host, share)}",
        f"\tread only = {'yes' if share.read_only else 'no'}",
    ]
    if share.hosts_allow:
        lines.append(f"\thosts allow = {share.hosts_allow}")
    if share.guest_ok:
        lines.append("\tguest ok = yes")
    else:
        lines += ["\tguest ok = no", f"\tvalid users = {accounts.SMB_USER}"]
    return "\n".join(lines) + "\n"


def render(service_name: str, host: Host, settings: SambaSettings) -> str:
    template = Template(resources.files("smbtests.lab").joinpath("files/smb.conf.in").read_text())
    shares = "".join("\n" + _render_share(host, share) for share in settings.shares)
    # the template names the instance's settings as SambaSettings does
    return template.substitute(
        dataclasses.asdict(settings),
        service=service_name,
        host=host.name,
        address=host.address,
        interfaces=" ".join(
            (
                f"{host.address}/{host.segment.subnet.prefixlen}",
                f"{host.address6}/{host.segment.subnet6.prefixlen}",
                *settings.extra_interfaces,
            )
        ),
        netbios_name=host.name.upper(),
        dir=paths.service_dir(service_name),
        shares=shares,
    )


def write_config(service_name: str, host: Host, settings: SambaSettings) -> bool:
    """Write the instance's smb.conf and create its share directories; True if it changed."""
    text = render(service_name, host, settings)
    path = config_path(service_name)
    if path.exists() and path.read_text() == text:
        return False
    uid, gid = accounts.uid_gid(accounts.SMB_USER)
    for share in settings.shares:
        directory = share_path(host, share)
        directory.mkdir(parents=True, exist_ok=True)
        os.chown(directory, uid, gid)
        # Read-only shares still get the lab user as owner: the setting, not the file mode, is
        # what a scenario or a test checks.
        directory.chmod(0o755 if share.guest_ok else 0o700)
        for relative, content in share.files:
            _write_owned(directory, relative, content, uid, gid)
    path.write_text(text)
    return True


def _write_owned(top: Path, relative: str, content: str, uid: int, gid: int) -> None:
    path = top / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    for part in [path, *path.parents]:
        if part == top:
            break
        os.chown(part, uid, gid)


def prepare_instance(service_name: str, host: Host, settings: SambaSettings) -> None:
    """Directories and config of a new instance, plus the lab user in its own passdb."""
    base = paths.service_dir(service_name)
    for sub in INSTANCE_SUBDIRS:
        (base / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    write_config(service_name, host, settings)
    password = accounts.read_smb_password()
    run(
        ["smbpasswd", "-c", str(config_path(service_name)), "-s", "-a", accounts.SMB_USER],
        stdin=f"{password}\n{password}\n",
    )
