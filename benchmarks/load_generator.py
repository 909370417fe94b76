"""The serving benchmark's load generator: raw HTTP/1.1 keep-alive, light on the cores.

Open loop (``fixed_rate``): requests are sent on a fixed schedule and latency counts from the
*scheduled* send time, so a stalled server cannot hide queueing (no coordinated omission).
Closed loop (``throughput``): two connections send back to back; the rate is rows per second.
"""

import asyncio
import os
from pathlib import Path

PREDICT = "/v1/models/flights/predict"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Client:
    """Raw HTTP/1.1 keep-alive connections: a light generator leaves the cores to the server."""

    def __init__(self, port: int, connections: int) -> None:
        self.port, self.size = port, connections
        self.pool: asyncio.Queue = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(self.size):
            self.pool.put_nowait(await asyncio.open_connection("127.0.0.1", self.port))

    async def post(self, path: str, body: bytes) -> int:
        reader, writer = await self.pool.get()
        try:
            head = (
                f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\n\r\n"
            )
            writer.write(head.encode() + body)
            headers = await reader.readuntil(b"\r\n\r\n")
            length = int(headers.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            return int(headers[9:12])
        finally:
            self.pool.put_nowait((reader, writer))


async def fixed_rate(
    port: int, bodies: list[bytes], rate: int, max_seconds: float, path: str = PREDICT
) -> tuple[list, int]:
    """Send ``bodies`` open-loop at ``rate`` per second; latency counts from each due time."""
    client = Client(port, 32)
    await client.open()
    loop, latencies, errors = asyncio.get_running_loop(), [], 0

    async def one(body: bytes, due: float) -> None:
        nonlocal errors
        try:
            status = await client.post(path, body)
            errors += status != 200
        except Exception:  # noqa: BLE001 - counted, the run goes on
            errors += 1
        latencies.append(loop.time() - due)

    start, tasks = loop.time() + 0.05, []
    for i, body in enumerate(bodies):
        due = start + i / rate
        if due - start > max_seconds:
            break
        await asyncio.sleep(max(0.0, due - loop.time()))
        tasks.append(asyncio.create_task(one(body, due)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=max_seconds)
    return latencies, errors


async def throughput(
    port: int, bodies: list[bytes], rows: int, max_seconds: float, path: str = PREDICT
) -> tuple[float, int]:
    """Rows per second of ``bodies`` (``rows`` each) sent closed-loop on 2 connections."""
    client = Client(port, 2)
    await client.open()
    loop, errors, done = asyncio.get_running_loop(), 0, 0
    start = loop.time()

    async def worker(mine: list[bytes]) -> None:
        nonlocal errors, done
        for body in mine:
            if loop.time() - start > max_seconds:
                return
            errors += await client.post(path, body) != 200
            done += 1

    await asyncio.gather(worker(bodies[0::2]), worker(bodies[1::2]))
    return done * rows / (loop.time() - start), errors
