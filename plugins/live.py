"""The one test function of the live suite; `pytest --env NAME` parametrizes it per check."""

from __future__ import annotations

import warnings

import pytest

from smbtests.checks.base import Check
from smbtests.checks.verdicts import Outcome, Verdict


class SmbPolicyWarning(UserWarning):
    """Something passes today but needs attention (an exception about to expire)."""


def test_policy(smb_check: Check, smb_verdict: Verdict) -> None:
    if smb_verdict.warning:
        warnings.warn(SmbPolicyWarning(smb_verdict.warning), stacklevel=1)
    if smb_verdict.outcome is Outcome.FAILED:
        pytest.fail(smb_verdict.message, pytrace=False)
