"""pyHanko's synchronous API runs its own event loop (asyncio.run): called from a thread
that already runs one (an ASGI server, Playwright's sync API in the browser tests), it
fails. Such calls are made from a worker thread instead."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def outside_event_loop(function: Callable[..., T], *args, **kwargs) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()
