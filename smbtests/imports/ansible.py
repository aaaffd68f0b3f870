"""Ansible inventories, INI and YAML, as SourceHosts for a draft.

The INI format is parsed here by hand, on purpose: the only maintained parser is ansible-core's
own (a large dependency that also runs inventory plugins and scripts), while the format is
small: `[group]`, `[group:vars]`, `[group:children]`, host lines with `key=value` variables,
`name:port` and `name[01:20]` ranges. YAML inventories (`all: children: ...`) are read with
PyYAML. For host_vars/, group_vars/ and dynamic inventories, let Ansible resolve them first:
`ansible-inventory -i SOURCE --list --yaml > inventory.yml` writes a YAML inventory with every
variable in place.

Nothing touches the network: a host without an IPv4 address (in `ansible_host`, or as its
name) is left out and listed in the draft, never looked up in DNS. A host's labels are its
groups and their parent groups; `all` and `ungrouped` say nothing and are dropped.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from smbtests.errors import SmbtestsError
from smbtests.imports.hosts import SourceHost, SourceInventory, is_ipv4, parse_address

COMMAND = "smbtests import ansible"
SILENT_GROUPS = frozenset({"all", "ungrouped"})
_RANGE = re.compile(r"\[([0-9]+|[a-z]):([0-9]+|[a-z])(?::([0-9]+))?\]")


@dataclass
class _Inventory:
    """Groups as Ansible sees them: member hosts (with their own variables), children, vars."""

    hosts: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=dict)
    group_vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # host -> "file:line"

    def add_host(self, group: str, host: str, variables: Mapping[str, Any], where: str) -> None:
        self.hosts.setdefault(group, {}).setdefault(host, {}).update(variables)
        self.origin.setdefault(host, where)

    def add_hosts(
        self, group: str, pattern: str, variables: Mapping[str, Any], where: str, place: str
    ) -> None:
        """Every host a pattern names (`fs[01:03]`); a bad range is an error at `place`."""
        try:
            names = expand_range(pattern)
        except ValueError as exc:
            raise SmbtestsError(f"{place}: {exc}") from None
        for host in names:
            self.add_host(group, host, variables, where)


def expand_range(pattern: str) -> list[str]:
    """`fs[01:03]` -> fs01, fs02, fs03 (Ansible's host ranges: numbers keep their width)."""
    match = _RANGE.search(pattern)
    if match is None:
        return [pattern]
    start, end, step = match.group(1), match.group(2), int(match.group(3) or 1)
    head, tail = pattern[: match.start()], pattern[match.end() :]
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") else 0
        values = [str(n).zfill(width) for n in range(int(start), int(end) + 1, step)]
    elif start.isalpha() and end.isalpha():
        values = [chr(c) for c in range(ord(start), ord(end) + 1, step)]
    else:
        raise ValueError(f"range [{start}:{end}] mixes letters and numbers")
    return [name for value in values for name in expand_range(f"{head}{value}{tail}")]


def _host_and_port(token: str) -> tuple[str, dict[str, Any]]:
    name, sep, port = token.rpartition(":")
    if sep and port.isdigit() and name:
        return name, {"ansible_port": int(port)}
    return token, {}


def _ini_variables(tokens: list[str], where: str) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise SmbtestsError(f"{where}: `{token}` is not key=value; quote values with spaces")
        variables[key] = value
    return variables


def parse_ini(text: str, path: Path) -> _Inventory:
    inventory = _Inventory()
    group, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        where = f"{path}:{number}"
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            header = re.fullmatch(r"\[([^\]:\s]+)(?::(vars|children))?\]", line)
            if header is None:
                raise SmbtestsError(
                    f"{where}: `{line}` is not a section; use [group], [group:vars] or "
                    "[group:children]"
                )
            group, kind = header.group(1), header.group(2) or "hosts"
            inventory.hosts.setdefault(group, {})
            continue
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError as exc:
            raise SmbtestsError(f"{where}: {exc}; check the quotes") from None
        if not tokens:
            continue
        if kind == "children":
            inventory.children.setdefault(group, set()).add(tokens[0])
        elif kind == "vars":
            inventory.group_vars.setdefault(group, {}).update(_ini_variables(tokens, where))
        else:
            name, port = _host_and_port(tokens[0])
            variables = {**port, **_ini_variables(tokens[1:], where)}
            source = f"{path.name}:{number} [{group}]"
            inventory.add_hosts(group, name, variables, source, f"{where}: host `{name}`")
    return inventory


def _mapping(value: Any, path: Path, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SmbtestsError(
            f"{path}: {where}: expected a mapping of names, found {type(value).__name__}"
        )
    return value


def _walk_yaml(inventory: _Inventory, path: Path, group: str, body: Any, where: str) -> None:
    body = _mapping(body, path, where)
    unknown = set(body) - {"hosts", "children", "vars"}
    if unknown:
        raise SmbtestsError(
            f"{path}: {where}: unknown key `{sorted(unknown)[0]}`; a group holds hosts, "
            "children and vars"
        )
    inventory.hosts.setdefault(group, {})
    for host, variables in _mapping(body.get("hosts"), path, f"{where}.hosts").items():
        name, port = _host_and_port(str(host))
        host_vars = {**port, **_mapping(variables, path, f"{where}.hosts.{host}")}
        source = f"{path.name} {where}.hosts.{host}"
        inventory.add_hosts(group, name, host_vars, source, f"{path}: {where}.hosts.{host}")
    group_vars = _mapping(body.get("vars"), path, f"{where}.vars")
    inventory.group_vars.setdefault(group, {}).update(group_vars)
    for child, child_body in _mapping(body.get("children"), path, f"{where}.children").items():
        inventory.children.setdefault(group, set()).add(str(child))
        _walk_yaml(inventory, path, str(child), child_body, f"{where}.children.{child}")


def parse_yaml(text: str, path: Path) -> _Inventory:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SmbtestsError(
            f"{path}: not a YAML inventory ({' '.join(str(exc).split())})"
        ) from None
    inventory = _Inventory()
    for group, body in _mapping(document, path, "top level").items():
        _walk_yaml(inventory, path, str(group), body, str(group))
    return inventory


def _ancestors(group: str, parents: Mapping[str, set[str]]) -> Iterator[str]:
    seen: set[str] = set()
    todo = [group]
    while todo:
        current = todo.pop()
        for parent in sorted(parents.get(current, ())):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
                yield parent


def _source_hosts(inventory: _Inventory, path: Path) -> tuple[list[SourceHost], list[str]]:
    parents: dict[str, set[str]] = {}
    for parent, children in inventory.children.items():
        for child in children:
            parents.setdefault(child, set()).add(parent)
    groups_of: dict[str, list[str]] = {}
    own_vars: dict[str, dict[str, Any]] = {}
    for group in sorted(inventory.hosts):
        for host, host_vars in inventory.hosts[group].items():
            groups_of.setdefault(host, []).append(group)
            own_vars.setdefault(host, {}).update(host_vars)
    hosts: list[SourceHost] = []
    skipped: list[str] = []
    for host in sorted(groups_of):
        direct = groups_of[host]
        inherited = [a for g in direct for a in _ancestors(g, parents) if a not in direct]
        labels = [g for g in dict.fromkeys([*direct, *inherited]) if g not in SILENT_GROUPS]
        variables: dict[str, Any] = {}
        for group in ["all", *reversed(inherited), *direct]:  # the nearer group wins
            variables.update(inventory.group_vars.get(group, {}))
        variables.update(own_vars[host])
        address = str(variables.get("ansible_host", host))
        parsed = parse_address(address) if is_ipv4(address) else None
        if parsed is None:
            skipped.append(
                f"{host} ({inventory.origin[host]}): no IPv4 address; set ansible_host=ADDRESS "
                "(names are not looked up)"
            )
            continue
        port = variables.get("ansible_port")
        hosts.append(
            SourceHost(
                name=host,
                address=parsed[0],
                labels=tuple(labels),
                origin=inventory.origin[host],
                ssh_user=_text(variables.get("ansible_user")),
                ssh_port=int(str(port)) if str(port).isdigit() else None,
                ssh_key=_text(variables.get("ansible_ssh_private_key_file")),
                shares=_shares(variables.get("smb_shares")),
            )
        )
    return hosts, skipped


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _shares(value: Any) -> tuple[str, ...]:
    """`smb_shares` host variable: a YAML list, or names separated by commas."""
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    if isinstance(value, str):
        return tuple(s.strip() for s in value.split(",") if s.strip())
    return ()


def read_inventory(path: Path) -> SourceInventory:
    """An INI or YAML (.yml/.yaml) inventory as a SourceInventory."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SmbtestsError(f"{path}: cannot read the inventory ({exc.strerror})") from None
    is_yaml = path.suffix in (".yml", ".yaml")
    inventory = parse_yaml(text, path) if is_yaml else parse_ini(text, path)
    hosts, skipped = _source_hosts(inventory, path)
    return SourceInventory(path, COMMAND, tuple(hosts), tuple(skipped))
