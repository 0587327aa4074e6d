"""Running ``reelkit serve`` as a subprocess on a free port: for tests, benchmarks and screenshots."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = ["CHROMIUM_ARGS", "LiveServer", "start_server"]

#: Flags for Debian's headless chromium on a machine without network access (the browser test and the
#: screenshot script both launch it with these).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass
class LiveServer:
    """A ``reelkit serve`` process; ``url`` is its base URL, ``output`` what it printed so far."""

    process: subprocess.Popen[str]
    url: str
    data_dir: Path
    output: list[str] = field(default_factory=list)

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server (SIGTERM, or SIGKILL when ``kill``) and wait for it."""
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
                self.process.kill()
                self.process.wait(timeout=5)

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    data_dir: str | Path,
    *,
    token: str | None = None,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
    host: str = "127.0.0.1",
    timeout: float = 120.0,
) -> LiveServer:
    """Start ``python -m reelkit.cli.service serve --port 0`` and wait until ``/health`` answers."""
    full_env = {**os.environ, **(env or {})}
    if token is not None:
        full_env["REELKIT_API_TOKEN"] = token
    cmd = [sys.executable, "-m", "reelkit.cli.service", "serve", "--data-dir", str(data_dir), "--host", host]
    cmd += ["--port", "0", *extra_args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env)
    output: list[str] = []
    found: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if not found and "serving" in line and "http://" in line:
                found.append(line.split("http://", 1)[1].split("/", 1)[0])

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            time.sleep(0.1)
            raise RuntimeError("reelkit serve exited early:\n" + "".join(output))
        if found:
            base = f"http://{found[0]}"
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    return LiveServer(proc, base, Path(data_dir), output)
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    proc.kill()
    proc.wait(timeout=5)
    raise RuntimeError("reelkit serve did not start in time:\n" + "".join(output))
