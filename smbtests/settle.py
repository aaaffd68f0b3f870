"""Settling one batch: each check is observed as soon as everything it needs is known (its
facts, and for scans every control of the probe), follow-ups included; with `hold`, observations
wait for the batch's verified answer. Used by execute.py, one Settler per batch."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future

from smbtests.checks.base import BatchKey, BatchKind, Check, Connect, Facts, FollowUps, Need
from smbtests.checks.registry import kind_of
from smbtests.dates import utc_now
from smbtests.errors import ProbeError
from smbtests.observations import ConnectResult, Observation, Target
from smbtests.secrets import Credentials


class Settler:
    """Settles each check of one batch as soon as everything it needs is known: its facts
    and, for scans, the probe's control. Runs in the batch's thread.

    With `hold`, a settled check's observation is kept back until `confirm()` (the batch's
    whole answer passed its checks: exit status, end marker, one record per target); a
    `fail()` before that errors it like any unsettled check, so a breach found late can
    never leave a pass behind."""

    def __init__(
        self,
        checks: list[Check],
        needs: Mapping[str, tuple[Need, ...]],
        outcomes: Mapping[str, Future[Observation]],
        key: BatchKey,
        account: Credentials | None,
        observed_at: dict[str, str],
        hold: bool = False,
    ) -> None:
        self._checks = {c.id: c for c in checks}
        self._observed_at = observed_at
        self._hold = hold
        self._held: dict[str, Observation | Exception] = {}
        self._needs = needs
        self._outcomes = outcomes
        self._probe = key.name if key.kind is BatchKind.SCAN else None
        self._account = None if account is None else account.username
        self._known: dict[Need, object] = {}
        self._waiting: dict[Need, set[str]] = {}
        for check_id, wanted in needs.items():
            for need in wanted:
                self._waiting.setdefault(need, set()).add(check_id)
        # a scan settles nothing before every control of the probe has answered
        self._controls: dict[Target, ConnectResult | None] = {}
        self._port_controls: set[Target] = set()
        self._extra: dict[str, tuple[Need, ...]] = {}  # follow-ups asked, per check
        self._follow_ups: list[Need] = []  # asked and not fetched yet

    def expect_controls(self, targets: list[Target], port_targets: list[Target]) -> None:
        self._controls = dict.fromkeys([*targets, *port_targets])
        self._port_controls = set(port_targets)

    def connected(self, result: ConnectResult) -> None:
        if result.target in self._controls and self._controls[result.target] is None:
            self._controls[result.target] = result
            if self._controls_known():
                for check_id in list(self._checks):
                    self._try(check_id)
        self.known(Connect(result.target), result)

    def _controls_known(self) -> bool:
        return all(result is not None for result in self._controls.values())

    def known(self, need: Need, value: object) -> None:
        if need in self._known:
            return
        self._known[need] = value
        for check_id in self._waiting.pop(need, set()):
            self._try(check_id)

    def without_probe(self) -> None:
        for check_id in list(self._checks):
            self._settle(check_id, Facts(probe=None))

    def follow_ups(self) -> list[Need]:
        """The follow-ups asked so far and not known yet (each once); fetching them may not
        ask for more: follow-ups are one step deep."""
        asked, self._follow_ups = self._follow_ups, []
        return [need for need in dict.fromkeys(asked) if need not in self._known]

    def fail(self, error: ProbeError) -> None:
        """Error every check not released yet (unsettled or held)."""
        for check_id in [*self._checks, *self._held]:
            self._observed_at[check_id] = utc_now()
            self._outcomes[check_id].set_exception(error)
        self._checks.clear()
        self._held.clear()

    def confirm(self) -> None:
        """The batch's answer is verified: release the held observations."""
        for check_id, outcome in self._held.items():
            _resolve(self._outcomes[check_id], outcome)
        self._held.clear()

    def _try(self, check_id: str) -> None:
        if check_id not in self._checks:
            return
        if not self._controls_known():
            return
        wanted = self._needs[check_id]
        if any(need not in self._known for need in wanted):
            return
        ask: FollowUps | None = getattr(kind_of(self._checks[check_id]), "followups", None)
        if ask is not None and check_id not in self._extra:
            try:
                extra = tuple(ask(self._checks[check_id], self._facts(wanted)))
            except Exception as exc:  # a bug in the kind: the item errors, the batch goes on
                self._outcomes[check_id].set_exception(exc)
                del self._checks[check_id]
                return
            self._extra[check_id] = extra
            for need in extra:
                if need not in self._known:
                    self._waiting.setdefault(need, set()).add(check_id)
                    self._follow_ups.append(need)
        wanted = (*wanted, *self._extra.get(check_id, ()))
        if any(need not in self._known for need in wanted):
            return
        self._settle(check_id, self._facts(wanted))

    def _facts(self, wanted: tuple[Need, ...]) -> Facts:
        values = {need: self._known[need] for need in wanted}
        known = {t: r for t, r in self._controls.items() if r is not None}
        controls = {t: r for t, r in known.items() if t not in self._port_controls}
        at_ports = {t: r for t, r in known.items() if t in self._port_controls}
        return Facts(values, self._probe, controls, self._account, at_ports)

    def _settle(self, check_id: str, facts: Facts) -> None:
        check = self._checks.pop(check_id)
        self._observed_at[check_id] = utc_now()
        outcome: Observation | Exception
        try:
            outcome = kind_of(check).observe(check, facts)
        except Exception as exc:  # a fact that failed, or a bug in observe: the item errors
            outcome = exc
        if self._hold:
            self._held[check_id] = outcome
        else:
            _resolve(self._outcomes[check_id], outcome)


def _resolve(future: Future[Observation], outcome: Observation | Exception) -> None:
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
