"""Helpers for the production-path tests: free ports of our range, a local S3 server (moto),
Redis reachability, and subprocesses stopped by their own pid."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

# Ports this project's tests and checks may use (127.0.0.1 only).
PORT_RANGE = range(
    int(os.environ.get("PORTALE_TEST_PORT_MIN", "5500")),
    int(os.environ.get("PORTALE_TEST_PORT_MAX", "5599")) + 1,
)
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# Redis databases the tests may use; each xdist worker takes its own.
REDIS_DBS = (5, 6, 7, 8, 9)


def free_port(start: int | None = None) -> int:
    """A port of the range nobody listens on, trying from a per-process offset."""
    offset = (os.getpid() * 7) % len(PORT_RANGE) if start is None else start - PORT_RANGE[0]
    for i in range(len(PORT_RANGE)):
        port = PORT_RANGE[(offset + i) % len(PORT_RANGE)]
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in the test range")


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def redis_up() -> bool:
    try:
        socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=0.5).close()
        return True
    except OSError:
        return False


def redis_db_for_worker() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    number = int("".join(ch for ch in worker if ch.isdigit()) or 0)
    return REDIS_DBS[number % len(REDIS_DBS)]


@contextmanager
def moto_s3_server() -> Iterator[str]:
    """A moto S3 server on a free port of the range; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop one process we started (SIGTERM, then SIGKILL), by its own handle."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
