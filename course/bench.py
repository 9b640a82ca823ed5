"""Benchmarks: measured figures, never pass/fail tests (timings and memory are noisy).

`python -m course bench --memory [--chapter 5] [--size-mb 200]` serves one large file from a
chapter's solution and reports how much the server's peak resident memory (VmHWM in
/proc/PID/status, Linux only) rose while it sent the file. A server that streams the file
in blocks stays flat; one that reads it whole grows by the file's size. The spec's target:
a 200 MB file raises the peak by less than 32 MB.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .chapters import Chapter
from .harness import launch_server

MEMORY_TARGET_MB = 32
RECEIVE_SIZE = 256 * 1024
TIMEOUT = 60.0


@dataclass
class MemoryReading:
    rss_kb: int  # VmRSS: resident now
    peak_kb: int  # VmHWM: the highest resident size so far ("high water mark")


def read_memory(pid: int) -> MemoryReading:
    """The process's resident and peak memory, from /proc (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _colon, value = line.partition(":")
        fields[name] = value.strip()
    return MemoryReading(int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0]))


def write_big_file(path: Path, size: int) -> None:
    """`size` bytes of varied data (not a sparse file: the server really reads it from disk)."""
    block = os.urandom(1024 * 1024)
    with open(path, "wb") as file:
        remaining = size
        while remaining > 0:
            piece = block[: min(len(block), remaining)]
            file.write(piece)
            remaining -= len(piece)


def download(address: tuple[str, int], target: str) -> tuple[int, int, float]:
    """GET target with Connection: close; (status, body bytes received, seconds). The body is
    counted and thrown away, so the client's memory stays small too."""
    started = time.monotonic()
    with socket.create_connection(address, timeout=TIMEOUT) as connection:
        connection.sendall(f"GET {target} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = connection.recv(RECEIVE_SIZE)
            if not chunk:
                raise RuntimeError(f"the server closed before the end of the head: {buffer[:200]!r}")
            buffer += chunk
        head, _blank, body_start = buffer.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        received = len(body_start)
        while True:
            chunk = connection.recv(RECEIVE_SIZE)
            if not chunk:
                break
            received += len(chunk)
    return status, received, time.monotonic() - started


def memory_benchmark(chapter: Chapter, size_mb: int, impl: str = "solutions") -> int:
    """Serve a size_mb file and print the rise of the server's peak memory. 0 if under target."""
    if not Path("/proc/self/status").exists():
        print("The memory benchmark reads /proc/PID/status: it runs on Linux only.")
        return 2
    size = size_mb * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="httpfs-bench-") as folder:
        root = Path(folder)
        (root / "small.txt").write_text("warm-up\n")
        print(f"Writing a {size_mb} MB file...", flush=True)
        write_big_file(root / "big.bin", size)
        with launch_server(chapter.slug, impl, ["--directory", str(root)]) as server:
            # Warm up: the first requests import modules and fill caches; measure after them.
            for target in ("/", "/files/small.txt"):
                download(server.address, target)
            before = read_memory(server.process.pid)
            status, received, seconds = download(server.address, "/files/big.bin")
            after = read_memory(server.process.pid)
    rise_mb = (after.peak_kb - before.peak_kb) / 1024
    print()
    print(f"chapter {chapter.number} ({chapter.slug}), impl {impl}: GET /files/big.bin")
    print(f"  status {status}, {received / 2**20:.1f} MiB received in {seconds:.2f} s ({received / 2**20 / seconds:.0f} MiB/s)")
    print(f"  server resident memory before: {before.rss_kb / 1024:.1f} MiB (peak so far {before.peak_kb / 1024:.1f} MiB)")
    print(f"  server peak memory after:      {after.peak_kb / 1024:.1f} MiB")
    print(f"  rise of the peak: {rise_mb:.1f} MiB for a {size_mb} MiB file (target: under {MEMORY_TARGET_MB} MiB)")
    if status != 200 or received != size:
        print(f"  FAILED: expected 200 and {size} bytes")
        return 1
    print("  within the target" if rise_mb < MEMORY_TARGET_MB else "  OVER the target")
    return 0 if rise_mb < MEMORY_TARGET_MB else 1
