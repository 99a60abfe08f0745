"""Real redis-server processes for the tests: private single servers and a cluster."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError

from careaccess_redis.scripting import execute

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Skip locally; in CI a missing Redis must fail the run, never pass it by skipping."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: Redis tests may not be skipped)", pytrace=False)
    pytest.skip(reason)


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        unavailable("redis-server is not on PATH, so no private server or cluster can be started")
        raise AssertionError("unreachable")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def free_ports(count: int) -> list[int]:
    """Ports with port+10000 free as well (a cluster node's bus port)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port + 10000 > 65535 or port in ports:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        ports.append(port)
    return ports


class RedisServer:
    """One redis-server on a loopback port, in its own directory; restartable."""

    def __init__(self, binary: str, directory: Path, port: int, extra: Sequence[str] = ()) -> None:
        self.binary = binary
        self.directory = directory
        self.port = port
        self.extra = list(extra)
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--logfile",
            str(self.directory / "redis.log"),
            *self.extra,
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_ready()
        if "--appendonly" in self.extra and self.extra[self.extra.index("--appendonly") + 1] == "yes":
            self.rewrite_aof()

    def rewrite_aof(self, timeout: float = 30.0) -> None:
        """BGREWRITEAOF, and wait until it is done: the README's advice after every restart.

        A crash that tore a script's MULTI/EXEC in the append-only file leaves a partial
        transaction that a later restart would replay (seen on Redis 7.0); rewriting the
        file from memory, which is right, drops it.
        """
        client = Redis(port=self.port, socket_timeout=5)
        try:
            client.bgrewriteaof()
            deadline = time.monotonic() + timeout
            while True:
                info = client.info("persistence")
                if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
                    if info.get("aof_last_bgrewrite_status", "ok") != "ok":
                        raise RuntimeError(f"BGREWRITEAOF failed on port {self.port}")
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"BGREWRITEAOF did not finish on port {self.port}")
                time.sleep(0.01)
        finally:
            client.close()

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        client = Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            while True:
                try:
                    if client.ping():
                        return
                except RedisError:
                    pass
                if self.process is not None and self.process.poll() is not None:
                    log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"redis-server on port {self.port} exited:\n{log}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on port {self.port} did not become ready")
                time.sleep(0.02)
        finally:
            client.close()

    def kill(self) -> None:
        """Crash it (SIGKILL): whatever the server has not written to disk is lost."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()


class RedisClusterProcesses:
    """Three masters on loopback ports with the 16384 slots split between them."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.servers = [
            RedisServer(
                binary,
                directory / f"node-{port}",
                port,
                ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--appendonly", "no"],
            )
            for port in free_ports(3)
        ]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.servers[0].port}/0"

    def start(self) -> None:
        for server in self.servers:
            server.start()
        clients = [Redis(port=s.port, decode_responses=True) for s in self.servers]
        try:
            bounds = [0, 5461, 10923, 16384]
            for index, client in enumerate(clients):
                execute(client, "CLUSTER ADDSLOTSRANGE", bounds[index], bounds[index + 1] - 1)
            for server in self.servers[1:]:
                execute(clients[0], "CLUSTER MEET", "127.0.0.1", server.port)
            deadline = time.monotonic() + 30
            while not all(execute(c, "CLUSTER INFO")["cluster_state"] == "ok" for c in clients) or not all(
                len(execute(c, "CLUSTER NODES")) == 3 for c in clients
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError("the test cluster did not reach cluster_state:ok")
                time.sleep(0.05)
        finally:
            for client in clients:
                client.close()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
