"""The project's typed errors: callers never see a backend's raw exception."""

from __future__ import annotations


class SmbtestsError(Exception):
    """Base of every error smbtests raises on purpose."""


class PolicyError(SmbtestsError):
    """A policy or environment file is wrong; the message names file, place and fix."""


class ProbeError(SmbtestsError):
    """A vantage point could not run a check: unreachable, auth, garbage output, timeout.

    A ProbeError is never evidence about the network; items that depend on it error.
    """

    def __init__(self, probe: str, message: str) -> None:
        super().__init__(f"probe {probe}: {message}")
        self.probe = probe


class LabError(SmbtestsError):
    """The lab could not be built, changed or torn down."""
