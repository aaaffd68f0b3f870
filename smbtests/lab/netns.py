"""Thin wrappers over `ip` and `nft`: argument lists only, bounded in time, failures as LabError."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from smbtests.errors import LabError
from smbtests.lab.topology import NAMESPACE_PREFIX

COMMAND_TIMEOUT = 15.0


def run(
    argv: Sequence[str],
    *,
    stdin: str | None = None,
    timeout: float = COMMAND_TIMEOUT,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"`{' '.join(argv)}` did not finish within {timeout:g} s") from exc
    except FileNotFoundError as exc:
        raise LabError(f"`{argv[0]}` is not installed") from exc
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        reason = detail[-1] if detail else f"exit status {result.returncode}"
        raise LabError(f"`{' '.join(argv)}` failed: {reason}")
    return result


def exec_argv(namespace: str, argv: Sequence[str]) -> list[str]:
    """The command line that runs `argv` inside `namespace`."""
    return ["ip", "netns", "exec", namespace, *argv]


def ip(namespace: str, *args: str, check: bool = True) -> str:
    return run(["ip", "-n", namespace, *args], check=check).stdout


def nft(namespace: str, script: str) -> None:
    """Feed an nft script on stdin, so rule text and comments need no quoting."""
    run(exec_argv(namespace, ["nft", "-f", "-"]), stdin=script)


def nft_list(namespace: str, *what: str) -> str:
    return run(exec_argv(namespace, ["nft", *what])).stdout


def sysctl(namespace: str, settings: dict[str, str]) -> None:
    pairs = [f"{key}={value}" for key, value in settings.items()]
    run(exec_argv(namespace, ["sysctl", "-q", "-w", *pairs]))


def add(namespace: str) -> None:
    run(["ip", "netns", "add", namespace])


def delete(namespace: str) -> None:
    run(["ip", "netns", "delete", namespace])


def lab_namespaces() -> list[str]:
    """Every namespace named like a lab one, whoever made it (stale ones included)."""
    listing = run(["ip", "netns", "list"]).stdout
    names = (line.split()[0] for line in listing.splitlines() if line.strip())
    return sorted(name for name in names if name.startswith(NAMESPACE_PREFIX))


def pids(namespace: str) -> list[int]:
    """Every process inside `namespace`: daemons' children and helpers included."""
    result = run(["ip", "netns", "pids", namespace], check=False)
    return [int(token) for token in result.stdout.split()]
