"""Vantage points: one interface, one backend per transport (local, ssh, winrm)."""

from smbtests.probes.base import ConnectResult, ConnectState, Probe, Target

__all__ = ["ConnectResult", "ConnectState", "Probe", "Target"]
