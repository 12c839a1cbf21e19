"""Ctrl-C during a fit, raised where the training loop can handle it.

Python runs its SIGINT handler at whatever bytecode the main thread executes
next. When that is a finalizer (a ``__del__`` or weakref callback, of which a
fit runs many), the ``KeyboardInterrupt`` is printed as "Exception ignored"
and lost, and training goes on as if nothing was pressed. Under
:func:`deferred_interrupt` the handler only records the request, and the loop
raises ``KeyboardInterrupt`` itself between compiled calls. A second Ctrl-C
interrupts at once, as usual.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Callable, Iterator


def _no_request() -> None:
    return None


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[Callable[[], None]]:
    """Record Ctrl-C instead of raising it; yield a function that raises it.

    Outside the main thread, or where SIGINT has a handler other than
    Python's default (an application's own), nothing is changed and the
    function yielded never raises.

    Yields
    ------
    callable
        ``check()``: raises ``KeyboardInterrupt`` if Ctrl-C was pressed.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield _no_request
        return
    requested = []

    def record(signum, frame) -> None:
        requested.append(signum)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def check() -> None:
        if requested:
            requested.clear()
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, record)
    try:
        yield check
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
