"""Vantage points: one interface, one backend per transport (local, ssh, winrm)."""

from smbtests.observations import ConnectResult, ConnectState, Target
from smbtests.probes.base import Probe

__all__ = ["ConnectResult", "ConnectState", "Probe", "Target"]
