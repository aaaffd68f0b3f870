"""Where the lab keeps its state: one directory under /run, gone after `smbtests lab down`."""

from __future__ import annotations

from pathlib import Path

STATE_DIR = Path("/run/smbtests-lab")
STATE_FILE = STATE_DIR / "state.json"
POLICY_OVERLAY = STATE_DIR / "policy-overlay.yaml"

SECRETS_DIR = STATE_DIR / "secrets"
SMB_PASSWORD_FILE = SECRETS_DIR / "smb_password"
# The WinRM account's password, read by both WS-Management doubles (win1's and dc1's).
WIN_PASSWORD_FILE = SECRETS_DIR / "win_password"

SSH_DIR = STATE_DIR / "ssh"
CLIENT_KEY = SSH_DIR / "id_ed25519"
KNOWN_HOSTS = SSH_DIR / "known_hosts"
AUTHORIZED_KEYS = SSH_DIR / "authorized_keys"
HOST_KEYS_DIR = SSH_DIR / "host-keys"

# The router's deny records (NFLOG group 1, written by smbtests/lab/nflog.py in its namespace).
ROUTER_DENY_LOG = STATE_DIR / "router-deny.log"
ROUTER_NFLOG_GROUP = 1

SERVICES_DIR = STATE_DIR / "services"  # one directory per service: config, state, logs
SHARES_DIR = STATE_DIR / "shares"

# The WS-Management double standing in for win1: its state file (scenarios rewrite it) and its
# certificate directory, where it makes a new lab CA `ca.pem` at every start for clients to trust.
WIN1_DIR = STATE_DIR / "win1"
WIN1_STATE = WIN1_DIR / "state.json"
WIN1_CA = WIN1_DIR / "ca.pem"
# win1's own drops (files/win1.nft, NFLOG group 1 in win1's namespace) as pfirewall.log lines,
# beside its state: the double answers `firewall-log-tail` from this file (wsman/firewall_log.py).
WIN1_FIREWALL_LOG = WIN1_DIR / "pfirewall.log"
# The second double, dc1's Windows configuration beside its real smbd: same layout, own CA.
DC1_WIN_DIR = STATE_DIR / "dc1-win"
DC1_WIN_STATE = DC1_WIN_DIR / "state.json"
DC1_WIN_CA = DC1_WIN_DIR / "ca.pem"

# OpenSSH's privilege-separation directory; sshd refuses to start without it.
SSHD_PRIVSEP_DIR = Path("/run/sshd")

# Samba's compile-time log directory. Its RPC helpers write a start banner there before they read
# smb.conf; each lab smbd runs with its own directory bound over it (see launch.py).
SAMBA_SYSTEM_LOG_DIR = Path("/var/log/samba")


def service_dir(service_name: str) -> Path:
    return SERVICES_DIR / service_name.replace("/", "-")


def host_key(host_name: str) -> Path:
    return HOST_KEYS_DIR / f"{host_name}_ed25519"
