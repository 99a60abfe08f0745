"""What a run ran on: CPU, cores, memory, OS, Python, package and server versions, load."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import stores

__all__ = ["commit", "describe", "uncommitted"]

PACKAGES = (
    "careaccess",
    "careaccess-sql",
    "careaccess-redis",
    "attrs",
    "cattrs",
    "SQLAlchemy",
    "psycopg",
    "redis",
    "casbin",
    "personnummer",
    "matplotlib",
    "pyinstrument",
    "pyperf",
)


def _field(path: str, name: str) -> str | None:
    try:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        return None
    return None


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _postgresql() -> str | None:
    try:
        import psycopg  # noqa: PLC0415 -- optional here

        conninfo = stores.POSTGRESQL.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as connection:
            row = connection.execute("SHOW server_version").fetchone()
            return None if row is None else str(row[0])
    except Exception:  # a server that is down is reported as unknown
        return None


def _redis() -> str | None:
    try:
        import redis  # noqa: PLC0415 -- optional here

        client = redis.Redis.from_url(stores.REDIS, socket_timeout=3)
        try:
            return str(client.info("server")["redis_version"])
        finally:
            client.close()
    except Exception:  # a server that is down is reported as unknown
        return None


def _git(*args: str) -> str:
    try:
        return subprocess.run(  # noqa: S603 -- fixed arguments
            ["git", *args],  # noqa: S607 -- git from PATH
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""


def commit() -> str:
    """The checked-out commit (short hash), or empty outside a git checkout."""
    return _git("rev-parse", "--short", "HEAD").strip()


def uncommitted() -> list[str]:
    """Files of the library and its backends that differ from the commit."""
    return sorted(line[3:] for line in _git("status", "--porcelain", "--", "src", "backends").splitlines())


def describe() -> dict[str, Any]:
    """The machine, the software and the load average when the run started."""
    memory = _field("/proc/meminfo", "MemTotal")
    return {
        "cpu": _field("/proc/cpuinfo", "model name") or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gib": round(int(memory.split()[0]) / 1024 / 1024, 1) if memory else None,
        "os": _os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "packages": {name: _version(name) for name in PACKAGES},
        "servers": {"postgresql": _postgresql(), "redis": _redis(), "sqlite": sqlite3.sqlite_version},
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
