"""Identifiers sortable by creation time (UUIDv7, as 32 hex digits)."""

from __future__ import annotations

import os
import random
import threading
import time

__all__ = ["new_id", "now_ms"]

_lock = threading.Lock()
_last_ms = 0
_counter = 0
# random bits from a generator seeded by the OS (and re-seeded in forked children):
# a system call per id would cost more than the rest of the id
_random = random.Random(os.urandom(16))
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(16)))


def now_ms() -> int:
    """Milliseconds since the Unix epoch, UTC."""
    return time.time_ns() // 1_000_000


def new_id() -> str:
    """A UUIDv7 (RFC 9562) as 32 lower-case hex digits.

    The first 48 bits are the millisecond timestamp, followed by a 12-bit
    counter that keeps ids made in the same millisecond by this process in
    order, then 62 random bits.
    """
    global _last_ms, _counter
    with _lock:
        ms = now_ms()
        if ms <= _last_ms:
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                ms += 1
                _counter = 0
        else:
            _counter = _random.getrandbits(10)
        _last_ms = ms
        counter = _counter
    rand = _random.getrandbits(62)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand
    return f"{value:032x}"
