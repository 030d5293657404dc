"""The credentials stop: while the gateway refuses our token, nothing is sent but a probe.

docs/gateway.md: on 401/403 all dispatch stops and the user is alerted; it
resumes when the token changes or the user resumes. A token fixed at the
gateway's side changes nothing here, so one real message goes out as a probe
every ``probe_interval`` seconds: the first answer that is not a refusal lifts
the stop without a restart. The probe costs no attempt when refused.
"""

from __future__ import annotations

from notifier_tui.core.sending.timer import Timer


class CredentialsStop:
    """Whether dispatch is stopped for a refused token, and when the next probe may go."""

    def __init__(self, probe_interval: float, timer: Timer) -> None:
        """Args:
        probe_interval: Seconds between probes; 0 or less never probes.
        timer: The monotonic clock.
        """
        self.probe_interval = probe_interval
        self._timer = timer
        self.error: str | None = None
        """The refusal's reason while stopped, else None."""
        self._probe_at = 0.0
        self._probe_busy = False
        self.generation = 0
        """Bumped at every lift: a request started before it cannot restart the stop."""

    @property
    def active(self) -> bool:
        return self.error is not None

    @property
    def probe_due_at(self) -> float | None:
        """Monotonic time the next probe may go, while stopped and probing."""
        if self.error is None or self.probe_interval <= 0 or self._probe_busy:
            return None
        return self._probe_at

    def capacity(self) -> int | None:
        """Requests that may start now: None when not stopped, else 0 or 1 (the probe)."""
        if self.error is None:
            return None
        due = self.probe_due_at
        return 1 if due is not None and self._timer.monotonic() >= due else 0

    def take_probe(self) -> bool:
        """Claim the probe slot if it is due; False means: do not send."""
        if self.capacity() != 1:
            return False
        self._probe_busy = True
        return True

    def probe_done(self) -> None:
        """The probe ended without an answer (stopped, cancelled): it may go again now."""
        self._probe_busy = False

    def refuse(self, reason: str, generation: int | None = None) -> bool:
        """The gateway refused the token; True when this started the stop.

        Args:
            reason: What the gateway said.
            generation: :attr:`generation` when the refused request left. One
                that left before the last lift (a new token, the user's resume)
                carried the old token or predates the fix: it says nothing now.
        """
        if generation is not None and generation < self.generation:
            return False
        started = self.error is None
        self.error = reason
        # A probe in flight keeps its slot (it frees it when it ends); refusals
        # of requests that left before the stop only push the next probe back.
        self._probe_at = self._timer.monotonic() + self.probe_interval
        return started

    def lift(self) -> bool:
        """End the stop; True if there was one."""
        was = self.error is not None
        self.error = None
        self._probe_busy = False
        self.generation += 1
        return was
