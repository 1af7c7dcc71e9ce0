"""A throwaway PostgreSQL on a free loopback port: for tests, benchmarks and the simulator.

Debian's server binaries (package `postgresql`), `initdb` into a fresh directory, run as an
unprivileged user: PostgreSQL refuses to run as root, so as root the server runs as `nobody`
(the data directory is made in /tmp, which that user can reach, and given to it).
Trust authentication on 127.0.0.1 only: a test server, never a city one.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from walkway.local_broker import free_port, wait_port

SUPERUSER = "walkway"


def postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if not initdb:
        raise RuntimeError("PostgreSQL server not installed: run ./run setup")
    return Path(initdb).parent


class LocalPostgres:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.bindir = postgres_bindir()
        self.user = "nobody" if os.geteuid() == 0 else None
        self.dir = Path(tempfile.mkdtemp(prefix="walkway-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.proc: subprocess.Popen | None = None

    def _run_as(self) -> dict:
        return {"user": self.user} if self.user else {}

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> "LocalPostgres":
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        if not self.data.exists():
            subprocess.run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                            "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
                           check=True, capture_output=True, **self._run_as())
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.dir}",
                 "-c", "fsync=off", "-c", "max_connections=60", "-c", "shared_buffers=64MB"],
                stdout=log, stderr=log, **self._run_as())
        wait_port("127.0.0.1", self.port, 30)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = subprocess.run([str(self.bindir / "pg_isready"), "-h", "127.0.0.1",
                                   "-p", str(self.port)], capture_output=True)
            if done.returncode == 0:
                return
            time.sleep(0.05)
        raise TimeoutError(f"PostgreSQL on {self.port} not ready: see {self.log}")

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: PostgreSQL's "smart" shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
