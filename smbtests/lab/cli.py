"""`smbtests lab up|down|status|exec|scenario`: the command line of the lab."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from smbtests.errors import LabError
from smbtests.lab import accounts, lifecycle, netns, paths, scale, scenarios, state, status
from smbtests.lab.topology import NAMESPACES, host

SMB_PASSWORD_ENV = "SMBTESTS_LAB_SMB_PASSWORD"  # noqa: S105 (a variable name, not a value)
WIN_PASSWORD_ENV = "SMBTESTS_LAB_WIN_PASSWORD"  # noqa: S105 (a variable name, not a value)
RUNNER_NAMESPACE = host("mgmt").namespace


def _up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    lab = lifecycle.up(args.scenario, args.scale or 0)
    elapsed = time.monotonic() - started
    scenario = ", ".join(lab.active_scenarios) or "compliant"
    print(
        f"lab up in {elapsed:.1f} s: {len(NAMESPACES)} namespaces, "
        f"{len(lab.processes)} services answering, scenario {scenario}"
    )
    print("run things inside it: smbtests lab exec -- pytest --env lab")
    print(f"win1 (WinRM double): user {accounts.WIN_USER}, CA {paths.WIN1_CA}")
    print(f"dc1's configuration (WinRM double): user {accounts.WIN_USER}, CA {paths.DC1_WIN_CA}")
    if args.scale:
        print(
            f"farm: {args.scale} targets in {scale.FARM}; environments "
            f"{scale.SCALE_ENVIRONMENT} (4 probes x {args.scale} paths) and "
            f"{scale.POSTURE_ENVIRONMENT} (the listening ones' hardening)"
        )
    return 0


def _down(_: argparse.Namespace) -> int:
    started = time.monotonic()
    lifecycle.down()
    print(f"lab down in {time.monotonic() - started:.1f} s: no smblab-* namespace or state left")
    return 0


def _status(args: argparse.Namespace) -> int:
    lifecycle.require_root()
    report = status.collect(state.require())
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(status.render(report))
    return 0 if report.healthy else 1


def _exec(args: argparse.Namespace) -> int:
    lifecycle.require_root()
    command: list[str] = args.command
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise LabError("nothing to run: `smbtests lab exec -- COMMAND [ARG...]`")
    state.require()
    if RUNNER_NAMESPACE not in netns.lab_namespaces():
        raise LabError(f"namespace {RUNNER_NAMESPACE} is missing: run `smbtests lab up`")
    env = dict(os.environ)
    env[SMB_PASSWORD_ENV] = accounts.read_smb_password()
    env[WIN_PASSWORD_ENV] = accounts.read_win_password()
    # exec, not a child: the command gets the terminal, the signals and the exit status as is.
    argv = netns.exec_argv(RUNNER_NAMESPACE, command)
    os.execvpe(argv[0], argv, env)  # noqa: S606 (argument list, no shell)


def _scenario(args: argparse.Namespace) -> int:
    if args.list:
        width = max(len(name) for name in scenarios.SCENARIOS)
        for scenario in scenarios.SCENARIOS.values():
            print(f"{scenario.name.ljust(width)}  {scenario.description}")
        return 0
    if args.name is None:
        raise LabError("name a scenario, or use --list")
    lifecycle.require_root()
    lab = state.require()
    scenarios.apply(args.name, lab)
    print(f"scenario {args.name} active" if args.name != scenarios.COMPLIANT else "lab compliant")
    return 0


def register(subparsers: Any) -> None:
    lab = subparsers.add_parser(
        "lab",
        help="the lab: a segmented network with Samba, SSH probes and a WinRM double (root)",
        description="Build, inspect, break and remove the smbtests lab (needs root).",
    )
    commands = lab.add_subparsers(dest="lab_command", metavar="COMMAND", required=True)

    up = commands.add_parser("up", help="(re)build the lab from nothing and wait until it answers")
    up.add_argument("--scenario", choices=sorted(scenarios.SCENARIOS), help="apply after up")
    up.add_argument(
        "--scale",
        type=int,
        metavar="N",
        help="also N extra SMB targets (~10%% listening) and the environments that cover them, "
        "for benchmarks/scale.py",
    )
    up.set_defaults(func=_up)

    down = commands.add_parser("down", help="remove everything the lab created")
    down.set_defaults(func=_down)

    status_parser = commands.add_parser("status", help="hosts, services, and whether they answer")
    status_parser.add_argument("--json", action="store_true", help="machine-readable output")
    status_parser.set_defaults(func=_status)

    exec_parser = commands.add_parser(
        "exec",
        help="run a command inside smblab-mgmt, with the lab's passwords in the environment",
        description=f"Runs COMMAND in {RUNNER_NAMESPACE} (cwd and environment kept, plus "
        f"{SMB_PASSWORD_ENV} and {WIN_PASSWORD_ENV}) and exits with its status.",
    )
    exec_parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND",
        help="the command and its arguments, after --",
    )
    exec_parser.set_defaults(func=_exec)

    scenario = commands.add_parser("scenario", help="break one thing on purpose, or restore")
    scenario.add_argument(
        "name",
        nargs="?",
        choices=sorted(scenarios.SCENARIOS),
        metavar="NAME",
        help="the scenario to apply (`compliant` restores; --list names them)",
    )
    scenario.add_argument("--list", action="store_true", help="list scenarios and exit")
    scenario.set_defaults(func=_scenario)
