"""Run a lab daemon with one directory bound over another, visible to that daemon alone.

Usage: python -m smbtests.lab.launch SOURCE TARGET -- COMMAND [ARG...]

`ip netns exec` already gives its command a private mount namespace, so a bind mount made here
stays inside it and vanishes with the daemon. The lab binds each smbd's log directory over
Samba's compile-time one, because Samba's RPC helpers write their start banner there before
they read smb.conf: without this, every lab run would leave files in /var/log/samba.
"""

from __future__ import annotations

import os
import subprocess
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    source, target, command = argv[0], argv[1], argv[3:]
    if os.path.isdir(target):
        subprocess.run(["mount", "--bind", source, target], check=True, timeout=10)
    os.execvp(command[0], command)  # noqa: S606 (argument list, no shell)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
