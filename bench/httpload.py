"""What the HTTP benchmarks share: N concurrent clients replaying raw requests against a local server."""

from __future__ import annotations

import asyncio
import time


async def one_request(port: int, raw: bytes) -> tuple[float, int]:
    """Send one raw HTTP/1.1 request on a new connection; its latency and status (0 if no HTTP answer)."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await reader.read()  # the sync worker closes the connection after the response
    writer.close()
    status = int(data[9:12]) if data[:5] == b"HTTP/" else 0
    return time.perf_counter() - started, status


async def load(port: int, requests: list[bytes], clients: int) -> tuple[list[float], dict[int, int], float]:
    """Replay ``requests`` with ``clients`` concurrent clients: latencies, counts by status, elapsed seconds."""
    queue = list(reversed(requests))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def client():
        while queue:
            latency, status = await one_request(port, queue.pop())
            latencies.append(latency)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, statuses, time.perf_counter() - started
