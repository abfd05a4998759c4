"""pyHanko's synchronous calls work in a thread that runs an event loop (an ASGI server;
Playwright's sync API in the browser tests keeps one running in the main thread)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from madoguchi.esign import validation
from madoguchi.esign.sync import outside_event_loop

CONTENT = b'{"format":"madoguchi.application/1"}'


def test_validation_inside_a_running_event_loop(trusted):
    signature = trusted["signer"].sign_detached(CONTENT)

    async def inside() -> validation.Verdict:
        return validation.verify(signature, CONTENT)

    # A thread of its own, so that the loop is this test's whatever else runs in the suite.
    with ThreadPoolExecutor(max_workers=1) as pool:
        verdict = pool.submit(asyncio.run, inside()).result()
    assert verdict.ok, verdict.reason


def test_outside_event_loop_calls_directly_without_a_loop():
    assert outside_event_loop(lambda value: value * 2, 21) == 42
