"""Labels (groups, roles, tags) to roles: an SMB host role (file, dc, print, admin), `probe` (a
vantage point), a segment kind (mgmt, trusted, untrusted, servers, perimeter) or `ignore`.
`--map LABEL=ROLE` wins over the default mapping, which matches words in the label
(fileservers -> file, domain_controllers -> dc, guest_wifi -> untrusted)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal, get_args

from smbtests.errors import SmbtestsError

Role = Literal[
    "file", "dc", "print", "admin", "probe",
    "mgmt", "trusted", "untrusted", "servers", "perimeter", "ignore",
]  # fmt: skip
ROLES: tuple[str, ...] = get_args(Role)
SMB_ROLES = ("file", "dc", "print", "admin")
SEGMENT_KINDS = ("mgmt", "trusted", "untrusted", "servers", "perimeter")
# Default mapping: a label takes the first role any of its words (or its letters run together)
# names. Words, not substrings: `offsite` must not become a file server because of `fs`.
_ROLE_WORDS: tuple[tuple[Role, frozenset[str], tuple[str, ...]], ...] = (
    ("dc", frozenset({"dc", "dcs", "ad", "adds", "addc"}), ("domaincontroller", "activedirectory")),
    ("print", frozenset({"print", "printer", "printers", "prn", "printing"}), ("printserver",)),
    ("file", frozenset({"file", "files", "fs", "nas", "samba", "smb", "cifs", "share", "shares",
                        "filer", "filers"}), ("fileserver",)),
    ("probe", frozenset({"probe", "probes", "smbtests", "vantage"}), ()),
    ("mgmt", frozenset({"mgmt", "management", "admin", "admins", "jump", "jumphost", "jumphosts",
                        "bastion", "bastions", "paw", "paws"}), ()),
    ("untrusted", frozenset({"guest", "guests", "iot", "byod", "wifi", "visitor", "visitors",
                             "ot", "cameras", "untrusted"}), ()),
    ("perimeter", frozenset({"dmz", "edge", "internet", "perimeter", "external"}), ()),
    ("servers", frozenset({"server", "servers", "srv", "datacenter", "datacentre"}), ()),
    ("trusted", frozenset({"clients", "client", "workstations", "workstation", "desktops",
                           "laptops", "corp", "office", "users", "staff"}), ()),
)  # fmt: skip


def parse_mapping(items: Sequence[str]) -> dict[str, Role]:
    """`--map GROUP=ROLE` options as {lowercased label: role}; a bad one is one clear error."""
    mapping: dict[str, Role] = {}
    for item in items:
        label, sep, role = item.partition("=")
        role = role.strip().lower()
        if not sep or not label.strip() or role not in ROLES:
            raise SmbtestsError(
                f"--map {item}: give LABEL=ROLE with ROLE one of {', '.join(ROLES)} "
                "(e.g. --map fileservers=file)"
            )
        mapping[label.strip().lower()] = role  # type: ignore[assignment]  # checked just above
    return mapping


def classify(label: str, mapping: Mapping[str, Role]) -> Role | None:
    """The role a label names: `--map` first, then the default words; None when unknown."""
    explicit = mapping.get(label.lower())
    if explicit is not None:
        return explicit
    words = [w for w in re.split(r"[^a-z]+", label.lower()) if w]
    joined = "".join(words)
    for role, names, runs in _ROLE_WORDS:
        if any(w in names for w in words) or any(run in joined for run in runs):
            return role
    return None
