"""Adaptive micro-batching: concurrent requests share one model call.

Requests queue while the model works; the next call takes everything queued
(up to ``max_batch_rows``). Nothing ever waits for a batch to fill, so a lone
request goes straight through, and batches grow with concurrency on their own.
Model calls run in one worker thread, off the event loop, or, for models
that answer in well under a millisecond (measured at warm-up), on the loop
itself, which saves two thread switches a call. If a batch fails,
its requests are retried one by one, so one bad request cannot fail others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shipyard.serving.codec import Decoded

__all__ = ["MicroBatcher"]

Result = tuple[Any, Any]  # predictions, probabilities (or None) of one request


class MicroBatcher:
    def __init__(
        self,
        run: Callable[[list[Decoded]], list[Result]],
        *,
        max_batch_rows: int = 512,
        on_batch: Callable[[int, int], None] | None = None,
        inline: bool = False,
    ) -> None:
        self._run = run
        self.inline = inline
        self.max_batch_rows = max_batch_rows
        self._on_batch = on_batch
        self._queue: asyncio.Queue[tuple[Decoded, asyncio.Future[Result]]] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shipyard-model")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def submit(self, decoded: Decoded) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        await self._queue.put((decoded, future))
        return await future

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._queue.get()
            batch = [first]
            rows = first[0].n
            while rows < self.max_batch_rows and not self._queue.empty():
                item = self._queue.get_nowait()
                batch.append(item)
                rows += item[0].n
            inputs = [d for d, _ in batch]
            try:
                if self.inline:
                    results = self._run(inputs)
                else:
                    results = await loop.run_in_executor(self._executor, self._run, inputs)
            except Exception:  # isolate the request that broke the batch
                results = None
            if self._on_batch is not None:
                self._on_batch(len(batch), rows)
            if results is not None:
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
                continue
            for decoded, future in batch:
                try:
                    (result,) = await loop.run_in_executor(self._executor, self._run, [decoded])
                    if not future.done():
                        future.set_result(result)
                except Exception as exc:
                    if not future.done():
                        future.set_exception(exc)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._executor.shutdown(wait=True)
