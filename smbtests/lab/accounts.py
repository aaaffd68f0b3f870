"""The lab's accounts and credentials: system users, the SMB and WinRM passwords, SSH keys."""

from __future__ import annotations

import os
import pwd
import secrets
from collections.abc import Iterable
from pathlib import Path

from smbtests.lab import paths
from smbtests.lab.netns import run
from smbtests.lab.state import LabState
from smbtests.lab.topology import Host

SMB_USER = "smblab"
PROBE_USER = "smbprobe"
# The WinRM account of win1 and of dc1's Windows configuration, one password for both. It exists
# only inside the WS-Management doubles, never on this machine.
WIN_USER = "labadmin"


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def ensure_users(state: LabState) -> None:
    """Create the lab's system users if absent, recording them so `down` removes only those."""
    wanted = {
        # Owns the share contents; never logs in to the machine.
        SMB_USER: ["--shell", "/usr/sbin/nologin"],
        # The probes' SSH login. /bin/sh keeps login shells free of profile start-up cost; the
        # password '*' matches nothing yet, unlike useradd's '!', does not mark the account
        # locked, which sshd (UsePAM no) would refuse even for key logins. Home '/' exists, so
        # sshd prints no "could not chdir" line into every command's stderr.
        PROBE_USER: ["--shell", "/bin/sh", "--password", "*", "--home-dir", "/"],
    }
    for name, options in wanted.items():
        if _user_exists(name):
            continue
        run(["useradd", "--system", "--no-create-home", *options, name])
        state.created_users.append(name)
        state.save()


def remove_users(names: Iterable[str]) -> None:
    for name in names:
        if _user_exists(name):
            # --force: the lab's own processes are already ended (by namespace); a process that
            # still has the uid belongs to another sandbox whose copy of /etc gave its lab user
            # the same number, or is a zombie not yet reaped, and must not keep this user alive
            run(["userdel", "--force", name])


def uid_gid(name: str) -> tuple[int, int]:
    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def write_secret(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)


def create_smb_password() -> str:
    password = secrets.token_urlsafe(24)
    write_secret(paths.SMB_PASSWORD_FILE, password)
    return password


def read_smb_password() -> str:
    return paths.SMB_PASSWORD_FILE.read_text().strip()


def create_win_password() -> None:
    write_secret(paths.WIN_PASSWORD_FILE, secrets.token_urlsafe(24))


def read_win_password() -> str:
    return paths.WIN_PASSWORD_FILE.read_text().strip()


def _keygen(path: Path, comment: str) -> str:
    """Generate an ed25519 key pair without a passphrase; return the public key line."""
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
    return path.with_name(path.name + ".pub").read_text().strip()


def create_ssh_keys(probes: Iterable[Host]) -> None:
    """The client key pair, each probe's host key, and the files that tie them together."""
    client_public = _keygen(paths.CLIENT_KEY, "smbtests-lab-client")
    paths.AUTHORIZED_KEYS.write_text(client_public + "\n")
    paths.AUTHORIZED_KEYS.chmod(0o644)
    known_hosts = []
    for probe in probes:
        key_type, key_data = _keygen(paths.host_key(probe.name), probe.name).split()[:2]
        known_hosts.append(f"{probe.address} {key_type} {key_data}\n")
    paths.KNOWN_HOSTS.write_text("".join(known_hosts))
    paths.KNOWN_HOSTS.chmod(0o644)
