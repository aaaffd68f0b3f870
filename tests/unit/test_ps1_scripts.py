"""The packaged PowerShell, read by a real PowerShell grammar (tree-sitter-powershell): every
script parses without an error or a missing token, follows the scripts' common form, and calls
only cmdlets and parameters that exist on Windows Server 2016 and later — or, for the few that
came later, only behind a `Get-Command` guard, so an older host reports them as absent.

The grammar is stricter than PowerShell in one place: it rejects bare-word lists as command
arguments (`Select-Object A, B`), so the scripts quote them (`-Property @('A', 'B')`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import tree_sitter
import tree_sitter_powershell

import smbtests.probes
from smbtests.probes.winrm_scripts import script, script_kinds

PS1_DIR = Path(smbtests.probes.__file__).parent / "ps1"
PRELUDE = "$ErrorActionPreference = 'Stop'\n$ProgressPreference = 'SilentlyContinue'\n"
COMMON = frozenset({"ErrorAction", "WarningAction"})

# cmdlet -> (module it ships in, parameters the scripts may pass). All exist on Windows Server
# 2016 / Windows 10 1607 with Windows PowerShell 5.1 (learn.microsoft.com/powershell/module).
SERVER_2016: dict[str, tuple[str, frozenset[str]]] = {
    "Get-SmbServerConfiguration": ("SmbShare", frozenset()),
    "Get-SmbClientConfiguration": ("SmbShare", frozenset()),
    # smb-path: a deviceless mapping with explicit credentials, its connection, its removal
    "New-SmbMapping": (
        "SmbShare",
        frozenset({"RemotePath", "UserName", "Password", "Persistent"}),
    ),
    "Remove-SmbMapping": ("SmbShare", frozenset({"RemotePath", "Force"})),
    "Get-SmbConnection": ("SmbShare", frozenset({"ServerName"})),
    "Test-Path": ("Microsoft.PowerShell.Management", frozenset({"LiteralPath"})),
    "Get-ChildItem": ("Microsoft.PowerShell.Management", frozenset({"LiteralPath", "Force"})),
    "Get-WindowsOptionalFeature": ("Dism", frozenset({"Online", "FeatureName"})),
    "Get-NetFirewallProfile": ("NetSecurity", frozenset({"PolicyStore"})),
    "Get-NetFirewallRule": ("NetSecurity", frozenset({"All", "PolicyStore", "Direction"})),
    "Get-NetFirewallPortFilter": ("NetSecurity", frozenset({"All", "PolicyStore"})),
    "Get-NetFirewallAddressFilter": ("NetSecurity", frozenset({"All", "PolicyStore"})),
    "Get-NetConnectionProfile": ("NetConnection", frozenset()),
    "Test-NetConnection": ("NetTCPIP", frozenset({"ComputerName", "Port"})),
    "Get-Command": ("Microsoft.PowerShell.Core", frozenset()),
    "Select-Object": ("Microsoft.PowerShell.Utility", frozenset({"Property", "First"})),
    "ForEach-Object": ("Microsoft.PowerShell.Core", frozenset()),
    "Where-Object": ("Microsoft.PowerShell.Core", frozenset()),
    "ConvertTo-Json": ("Microsoft.PowerShell.Utility", frozenset({"Depth", "Compress"})),
    "ConvertFrom-Json": ("Microsoft.PowerShell.Utility", frozenset()),
    "New-Object": ("Microsoft.PowerShell.Utility", frozenset()),
    "Sort-Object": ("Microsoft.PowerShell.Utility", frozenset()),
    # -Tail (alias -Last) since PowerShell 3.0: reads from the end, not the whole file
    "Get-Content": (
        "Microsoft.PowerShell.Management",
        frozenset({"LiteralPath", "TotalCount", "Tail"}),
    ),
}
# Later than 2016: SMB over QUIC (Windows Server 2022 Azure Edition, Windows Server 2025).
# Every use must sit in a script that first asks `Get-Command <cmdlet>`.
GUARDED: dict[str, tuple[str, frozenset[str]]] = {
    "Get-SmbServerCertificateMapping": ("SmbShare", frozenset()),
    "Get-SmbClientAccessToServer": ("SmbShare", frozenset({"Name"})),
}
# The scripts' own functions, defined in the same script.
FUNCTIONS = {
    "Test-Covers445",
    "Get-RuleRow",
    "Settle",
    "Get-Setting",
    "Hide-Secret",
    "Get-Failure",
    "Read-Exact",
    "Connect-Share",
}

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def nodes(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    yield node
    for child in node.children:
        yield from nodes(child)


def text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8")


def commands(source: str) -> list[tuple[str, set[str]]]:
    """(command name, parameter names) of every command in the script."""
    found = []
    for node in nodes(PARSER.parse(source.encode("utf-8")).root_node):
        if node.type != "command":
            continue
        name = node.child_by_field_name("command_name")
        elements = node.child_by_field_name("command_elements")
        parameters = set()
        if elements is not None:
            parameters = {
                text(e).lstrip("-").rstrip(":")
                for e in elements.children
                if e.type == "command_parameter"
            }
        found.append((text(name) if name is not None else "", parameters))
    return found


def test_every_script_kind_has_its_file_and_no_file_is_unused() -> None:
    assert sorted(p.stem for p in PS1_DIR.glob("*.ps1")) == sorted(script_kinds())


def test_every_shared_file_is_included_and_no_include_line_is_sent() -> None:
    shared = sorted(p.name for p in (PS1_DIR / "include").glob("*.ps1"))
    raw = "".join(p.read_text(encoding="utf-8") for p in PS1_DIR.glob("*.ps1"))
    assert shared and all(f"# include {name}\n" in raw for name in shared)
    assert not [kind for kind in script_kinds() if "# include" in script(kind)]


@pytest.mark.parametrize("kind", script_kinds())
def test_script_parses_with_the_powershell_grammar(kind: str) -> None:
    tree = PARSER.parse(script(kind).encode("utf-8"))
    broken = [
        f"line {n.start_point[0] + 1}: {'missing ' + n.type if n.is_missing else 'error'}"
        for n in nodes(tree.root_node)
        if n.is_error or n.is_missing
    ]
    assert not broken, broken


@pytest.mark.parametrize("kind", script_kinds())
def test_script_has_the_common_form(kind: str) -> None:
    source = script(kind)
    assert source.startswith(f"# smbtests:{kind}\n{PRELUDE}")
    assert "ConvertTo-Json -Depth 4 -Compress" in source.rstrip().splitlines()[-1]


@pytest.mark.parametrize("kind", script_kinds())
def test_script_calls_only_cmdlets_of_windows_server_2016(kind: str) -> None:
    source = script(kind)
    for name, parameters in commands(source):
        if name in FUNCTIONS:
            assert f"function {name}(" in source, name
            continue
        known = SERVER_2016.get(name) or GUARDED.get(name)
        assert known is not None, f"{kind}: {name} is not on the checked list"
        assert parameters <= known[1] | COMMON, f"{kind}: {name} {parameters - known[1]}"
        if name in GUARDED:
            assert f"Get-Command {name} -ErrorAction SilentlyContinue" in source, name


def test_the_grammar_catches_a_broken_script() -> None:
    """The gate itself: an unclosed block and a stray token are reported."""
    broken = PARSER.parse(b"foreach ($x in $y) {\n  [pscustomobject]@{ A = 1 \n")
    assert any(n.is_error or n.is_missing for n in nodes(broken.root_node))


def test_the_command_walk_sees_names_and_parameters() -> None:
    seen = commands("Get-NetFirewallRule -All -PolicyStore ActiveStore | ConvertTo-Json -Depth 4")
    assert seen == [
        ("Get-NetFirewallRule", {"All", "PolicyStore"}),
        ("ConvertTo-Json", {"Depth"}),
    ]
