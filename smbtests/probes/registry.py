"""Open a probe for an environment's probe entry: transport name -> backend, imported lazily
so a missing optional dependency only matters when that transport is used."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from pathlib import Path

from smbtests.config import Environment, ProbeConfig, Timing, WindowsHost
from smbtests.errors import ProbeError
from smbtests.probes import _openssh
from smbtests.probes._openssh import Command
from smbtests.probes.base import HostReader, Probe
from smbtests.secrets import read_secret


def open_probe(
    name: str, config: ProbeConfig, timing: Timing, started: Command | None = None
) -> Probe:
    """`started`: the probe's scanner from `start_scanner`, for its first scan."""
    if config.transport == "local":
        from smbtests.probes.local import LocalProbe

        return LocalProbe(name, timing.connects_per_second)
    if config.transport == "ssh":
        assert config.address and config.user and config.key and config.known_hosts
        with _closed_on_failure(started):
            from smbtests.probes.ssh import SshProbe

            return SshProbe(
                name,
                address=config.address,
                user=config.user,
                key=Path(config.key),
                known_hosts=Path(config.known_hosts),
                port=config.port or 22,
                python=config.python,
                channel_timeout=timing.probe_timeout,
                connects_per_second=timing.connects_per_second,
                openssh=_openssh.client(_login(config, timing)),
                started=started,
            )
    assert started is None, "only an ssh probe's scanner is started early"
    try:
        winrm = importlib.import_module("smbtests.probes.winrm")
    except ImportError as exc:
        raise ProbeError(name, f"the winrm transport is unavailable: {exc}") from None
    assert config.credential is not None and config.address is not None
    probe: Probe = winrm.open_from_config(
        name, config, read_secret(config.credential, f"probes.{name}.credential"), timing
    )
    return probe


def start_scanner(name: str, config: ProbeConfig, timing: Timing) -> Command | None:
    """An ssh probe's scanner started now through the OpenSSH client, waiting for its request
    (None: another transport, or no `ssh` on PATH). It only gains time: a failure to connect
    surfaces at the scan, as the scan's own would; paramiko is not imported."""
    if config.transport != "ssh":
        return None
    login = _login(config, timing)
    ssh = _openssh.client(login)
    return None if ssh is None else _openssh.start_scanner(name, config.python, ssh, login)


def _login(config: ProbeConfig, timing: Timing) -> _openssh.Login:
    assert config.address and config.user and config.key and config.known_hosts
    return _openssh.login(
        config.address,
        config.port or 22,
        config.user,
        Path(config.key),
        Path(config.known_hosts),
        timing.probe_timeout,
    )


def open_reader(name: str, host: WindowsHost, env: Environment) -> HostReader:
    """A reader of Windows host `name`'s configuration: its probe's connection or its own."""
    if host.probe is not None:
        reader = open_probe(host.probe, env.probes[host.probe], env.timing)
    else:
        assert host.winrm is not None
        try:
            winrm = importlib.import_module("smbtests.probes.winrm")
        except ImportError as exc:
            raise ProbeError(name, f"the winrm transport is unavailable: {exc}") from None
        password = read_secret(host.winrm.credential, f"windows_hosts.{name}.winrm.credential")
        reader = winrm.open_from_config(name, host.winrm, password, env.timing)
    if not isinstance(reader, HostReader):
        raise ProbeError(name, "this probe cannot read host configuration (not winrm)")
    return reader


@contextlib.contextmanager
def _closed_on_failure(started: Command | None) -> Iterator[None]:
    """A started scanner whose probe could not be made ends here, not at the run's end."""
    try:
        yield
    except BaseException:
        if started is not None:
            started.close()
        raise
