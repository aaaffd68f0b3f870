"""anonymous:HOST — no share can be listed or opened without credentials (seed step 4).

An anonymous login itself may succeed (Samba's `restrict anonymous = 2` refuses at tree
connect and share listing), so the check lists shares and tries the declared ones.
"""

from __future__ import annotations

from smbtests.checks._hardening import per_host
from smbtests.checks._sessions import refused
from smbtests.checks.base import Family, SmbNeed

NAME = "anonymous"
FAMILY = Family.HARDENING


plan = per_host(
    NAME,
    ("No anonymous SMB access", "critical"),
    lambda *_: "no share can be listed without credentials",
    applies=lambda b: b.anonymous == "refused",
)
needs, observe, judge = refused(SmbNeed.ANONYMOUS, "anonymous")
