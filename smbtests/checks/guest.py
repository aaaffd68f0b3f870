"""guest:HOST — the guest account cannot list or open shares (seed step 4), tried over SMB 2.1
(impacket itself refuses guest over 3.1.1, which would pass a guest-ok server)."""

from __future__ import annotations

from smbtests.checks._hardening import per_host
from smbtests.checks._sessions import refused
from smbtests.checks.base import Family, SmbNeed

NAME = "guest"
FAMILY = Family.HARDENING
GUEST_USER = "guest"


plan = per_host(
    NAME,
    ("No guest SMB access", "critical"),
    lambda *_: "the guest account cannot list shares",
    applies=lambda b: b.guest == "refused",
)
needs, observe, judge = refused(SmbNeed.GUEST, GUEST_USER)
