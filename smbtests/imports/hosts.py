"""Hosts as a source describes them: what every reader yields and the draft is built from."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path


@dataclass(frozen=True)
class SourceHost:
    """One host as a source describes it; `origin` says where, for the draft's comments."""

    name: str
    address: IPv4Interface  # the prefix is the source's subnet when `subnet_known`
    labels: tuple[str, ...]
    origin: str
    subnet_known: bool = False
    segment: str | None = None  # a segment name the source states outright (csv)
    shares: tuple[str, ...] = ()
    ssh_user: str | None = None
    ssh_port: int | None = None
    ssh_key: str | None = None


@dataclass(frozen=True)
class SourceInventory:
    source: Path
    command: str  # `smbtests import ansible`, for the header
    hosts: tuple[SourceHost, ...]
    skipped: tuple[str, ...] = ()  # what was left out and why, one line each


def parse_address(text: str) -> tuple[IPv4Interface, bool] | None:
    """An IPv4 address, optionally with /prefix, and whether a prefix was given; else None."""
    try:
        return IPv4Interface(text.strip()), "/" in text
    except ValueError:
        return None


def is_ipv4(text: str) -> bool:
    try:
        IPv4Address(text)
    except ValueError:
        return False
    return True
