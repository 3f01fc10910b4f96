"""The vault passphrase on the pages: how many tries, from where, and off the vault lock.

Each try takes a token from two buckets before the key is derived: its address's (5 at once,
then one every 5 s) and everyone's (20 at once, then one every 2 s), so many addresses (or many
loopback addresses on one machine) cannot multiply the guesses. A right passphrase gives its
tokens back. When a bucket is empty the page says "too many tries, wait N s", never that a
passphrase is wrong. The slow key derivation (Argon2id) runs one at a time, on a worker thread,
without the server's vault lock: guessing does not slow the tools down.

Behind a reverse proxy the address is the proxy's unless the proxy's forwarded headers are
trusted (``docs/remote.md``, "Behind a TLS proxy").
"""

from __future__ import annotations

import math
from collections.abc import Callable

import anyio
import anyio.to_thread

from healthlocker.server._guard import RateLimiter
from healthlocker.server._state import ServerState
from healthlocker.store import Vault

WRONG = "That passphrase does not unlock this vault."


class Passphrases:
    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.per_address = RateLimiter(rate=0.2, burst=5)
        self.everyone = RateLimiter(rate=0.5, burst=20)
        self._kdf: anyio.CapacityLimiter | None = None

    async def check(self, address: str, passphrase: str) -> str | None:
        """None when *passphrase* unlocks the vault; else what to tell the person."""
        wait = self.per_address.take(address)
        if not wait:
            wait = self.everyone.take("*")
            if wait:
                self.per_address.give_back(address)
        if wait:
            return f"Too many tries; wait {math.ceil(wait)} s, then try again."
        if self._kdf is None:
            self._kdf = anyio.CapacityLimiter(1)
        check: Callable[[str], bool] = await anyio.to_thread.run_sync(
            lambda: self.state.using(Vault.passphrase_check)
        )
        if await anyio.to_thread.run_sync(check, passphrase, limiter=self._kdf):
            self.per_address.give_back(address)
            self.everyone.give_back("*")
            return None
        return WRONG
