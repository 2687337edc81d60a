"""Back-off for password guesses that never locks the owner out.

Each sign-in attempt is counted against several keys at once: the account (its normalised name,
whether it exists or not, so unknown usernames are throttled too) and the client address, or
instead, for a browser holding a device cookie from an earlier successful sign-in to that account,
the device alone. Each key has a free allowance (5 failures for an account or a device, 20 for an
address); past it, the next attempt must wait 1 s, then 2, 4... up to 15 minutes after the latest
failure. Failures are forgotten an hour after they happened and an account's are cleared by a
correct password.

So a guesser, from one address or many, soon waits minutes between guesses at an account, while the
account's owner, signing in from a browser that signed in before, is measured only against that
device's own failures and still gets in. Behind a proxy every client may share one address: the
address key then slows guessing across accounts but the device cookie still lets people in.

`begin()` counts the attempt as a failure before the password is checked, under a lock, and
`succeeded()` takes it back: parallel guesses cannot slip more tries past the limit than serial
ones. Counters live in the process; several web processes each keep their own."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

FREE = {"account": 5, "device": 5, "address": 20}
BASE_DELAY, MAX_DELAY, FORGET_AFTER = 1.0, 900.0, 3600.0
MAX_KEYS = 100_000


@dataclass
class Attempt:
    keys: list[str]
    at: float
    settled: bool = field(default=False)


class SignInThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic, free: dict[str, int] | None = None) -> None:
        self.clock = clock
        self.free = {**FREE, **(free or {})}
        self.lock = threading.Lock()
        self.failures: dict[str, list[float]] = {}

    def _free(self, key: str) -> int:
        return self.free[key.split(":", 1)[0]]

    def _wait(self, key: str, now: float) -> float:
        recent = [t for t in self.failures.get(key, []) if now - t < FORGET_AFTER]
        if recent:
            self.failures[key] = recent
        else:
            self.failures.pop(key, None)
        over = len(recent) - self._free(key)
        if over < 0:
            return 0.0
        delay = min(BASE_DELAY * 2 ** over, MAX_DELAY)
        return max(0.0, recent[-1] + delay - now)

    def begin(self, keys: list[str]) -> tuple[Attempt | None, float]:
        """Reserve one try against every key: (attempt, 0) or (None, seconds to wait)."""
        with self.lock:
            now = self.clock()
            wait = max(self._wait(k, now) for k in keys)
            if wait > 0:
                return None, wait
            if len(self.failures) > MAX_KEYS:  # a flood of distinct names: forget the oldest half
                for k in sorted(self.failures, key=lambda k: self.failures[k][-1])[: MAX_KEYS // 2]:
                    del self.failures[k]
            for k in keys:
                self.failures.setdefault(k, []).append(now)
            return Attempt(keys, now), 0.0

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: take back the reserved failure; an account starts afresh."""
        with self.lock:
            for k in attempt.keys:
                entries = self.failures.get(k, [])
                if attempt.at in entries:
                    entries.remove(attempt.at)
                if k.startswith(("account:", "device:")):
                    self.failures.pop(k, None)
            attempt.settled = True

    def failures_of(self, key: str) -> int:
        with self.lock:
            return len(self.failures.get(key, []))


def keys_for(username: str, address: str, device: str | None) -> list[str]:
    if device:
        return [f"device:{device}"]
    return [f"account:{username}", f"address:{address}"]
