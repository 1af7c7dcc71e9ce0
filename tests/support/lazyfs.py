"""A FUSE passthrough filesystem that forgets what was never synced, like a power cut.

The model (after LazyFS, which does the same for PostgreSQL and etcd in Jepsen), documented
in docs/DEVELOPING.md, "Power cuts":

- Data: every write and truncate goes to a per-file page cache in this process (4 KiB
  pages); reads see it. Only fsync/fdatasync of that file writes its pages to the backing
  file (and fsyncs it). Closing a file does not.
- Metadata: create, mkdir, unlink, rmdir and rename are applied to the backing directory at
  once, but written first to an undo journal outside it; they become durable only when the
  directory holding the name (either directory, for a rename) is fsynced. fsync of the file
  itself does not make its name durable (POSIX, and fsync(2) on Linux, say so).
- A cut: the FUSE process dies (its page cache with it), then `recover` undoes every journal
  entry not made durable, newest first: created names disappear, unlinked files come back,
  renames go back. chmod, chown, utimens and symlinks are passed through and not modelled.

The cut is triggered here, at an exact operation: the harness arms a phase (see `phase_of`)
and a count; at the chosen operation the node processes are SIGSTOPped before it runs (so
nothing after it reaches the disk, the network or the collector), every later operation gets
EIO, and one JSON line reports it on stdout. `python -m support.lazyfs BACKING MOUNT STATE`.
"""

import errno
import json
import os
import signal
import struct
import sys
import threading
import time
from pathlib import Path

from fuse import FUSE, FuseOSError, Operations, fuse_get_context

from support.lazyfs_state import Journal, PageCache

WAL_FRAME_HEADER = 24
PHASES = ("ingest", "ack", "prune", "checkpoint")


class LazyFS(Operations):
    use_ns = True

    def __init__(self, backing: Path, state: Path, out=sys.stdout) -> None:
        self.root = str(backing)
        self.journal = Journal(state)
        self.out = out
        self.mutex = threading.Lock()
        self.caches: dict[int, PageCache] = {}  # by backing inode: renames keep the cache
        self.handles: dict[int, PageCache] = {}
        self.next_fh = 1
        self.tgids: dict[int, int] = {}
        self.cut = False
        self.trigger: dict | None = None
        self.first_ingest: float | None = None

    # -- the cut --------------------------------------------------------------------
    def arm(self, trigger: dict) -> None:
        """trigger: phase, skip (matching operations let through), extra (operations of the
        same process on the store's files after the match; with at_sync, fsyncs of the
        store by either process: all of a commit written, none of it synced), pids {role:
        pid}, db (file name), pages {table: root page}."""
        with self.mutex:
            self.trigger = {**trigger, "matched": False}

    def cut_now(self, why: str) -> None:
        with self.mutex:
            self._cut({"phase": why, "op": "timer"})

    def _cut(self, what: dict) -> None:
        for pid in (self.trigger or {}).get("pids", {}).values():
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        self.cut = True
        self.emit({"event": "cut", **what, "t": time.monotonic()})

    def emit(self, event: dict) -> None:
        self.out.write(json.dumps(event) + "\n")
        self.out.flush()

    def _role(self) -> str:
        tid = fuse_get_context()[2]
        tgid = self.tgids.get(tid)
        if tgid is None:
            try:
                status = Path(f"/proc/{tid}/status").read_text()
                tgid = int(status.split("Tgid:")[1].split()[0])
            except (OSError, IndexError, ValueError):
                tgid = tid
            self.tgids[tid] = tgid
        for role, pid in (self.trigger or {}).get("pids", {}).items():
            if pid == tgid:
                return role
        return "other"

    def phase_of(self, op: str, name: str, role: str, data: bytes = b"") -> str | None:
        """Which phase this operation belongs to. Checkpoint: the main database file is
        written or synced, or the WAL truncated. Otherwise by the page a WAL frame header
        names: the edge writing source_state (a batch and its position: ingest) or counters
        (pruning bumps pruned_until_start), the bridge writing the outbox (claim, ack)."""
        trig = self.trigger or {}
        db = trig.get("db", "")
        pages = trig.get("pages", {})
        if name == db and op in ("write", "fsync"):
            return "checkpoint"
        if name != db + "-wal":
            return None
        if op == "truncate":
            return "checkpoint"
        if op != "write" or len(data) != WAL_FRAME_HEADER:
            return None
        page = struct.unpack(">I", data[:4])[0]
        if role == "edge" and page == pages.get("source_state"):
            return "ingest"
        if role == "edge" and page == pages.get("counters"):
            return "prune"
        if role == "bridge" and page not in pages.values():
            return "ack"
        return None

    def _check(self, op: str, path: str, data: bytes = b"") -> None:
        """Runs under the lock before every operation: EIO after a cut; cut when due."""
        if self.cut:
            raise FuseOSError(errno.EIO)
        trig = self.trigger
        if trig is None:
            return
        name = path.lstrip("/")
        role = self._role()
        phase = self.phase_of(op, name, role, data)
        if phase == "ingest" and self.first_ingest is None:
            self.first_ingest = time.monotonic()
            self.emit({"event": "first_ingest", "t": self.first_ingest})
        if not trig["matched"]:
            if phase != trig["phase"]:
                return
            if trig["skip"] > 0:
                trig["skip"] -= 1
                return
            trig["matched"], trig["role"] = True, role
        elif op not in ("write", "fsync", "truncate") or not name.startswith(trig["db"]):
            return
        elif trig.get("at_sync"):
            # The next sync of the store by either node process: the bridge never syncs its
            # own commits (synchronous=NORMAL), the edge's next commit syncs them with its own.
            if op != "fsync" or role == "other":
                return
        elif role != trig["role"]:
            return
        if trig["extra"] > 0:
            trig["extra"] -= 1
            return
        self._cut({"phase": trig["phase"], "op": op, "file": name, "role": role})
        raise FuseOSError(errno.EIO)

    # -- helpers --------------------------------------------------------------------
    def _full(self, path: str) -> str:
        return self.root + path

    def _cache(self, path: str, fh: int | None = None) -> PageCache:
        if fh is not None and fh in self.handles:
            return self.handles[fh]
        ino = os.lstat(self._full(path)).st_ino
        cache = self.caches.get(ino)
        if cache is None:
            cache = PageCache(os.open(self._full(path), os.O_RDWR))
            self.caches[ino] = cache
        return cache

    def _forget(self, full: str) -> None:
        """The name goes away: its cache stays with open handles only (an unlinked file's
        inode number may be reused later, so it must not be found by number again)."""
        try:
            cache = self.caches.pop(os.lstat(full).st_ino, None)
        except FileNotFoundError:
            return
        if cache is not None and cache not in self.handles.values():
            os.close(cache.fd)

    def __call__(self, op: str, path: str, *args):
        with self.mutex:
            self._check(op, path, args[0] if op == "write" else b"")
            return super().__call__(op, path, *args)

    # -- data -----------------------------------------------------------------------
    def getattr(self, path: str, fh: int | None = None) -> dict:
        st = os.lstat(self._full(path))
        attrs = {k: getattr(st, k) for k in ("st_mode", "st_nlink", "st_uid", "st_gid",
                                              "st_size", "st_atime_ns", "st_mtime_ns",
                                              "st_ctime_ns")}
        for k in ("st_atime", "st_mtime", "st_ctime"):
            attrs[k] = attrs.pop(k + "_ns")
        cache = self.caches.get(st.st_ino)
        if cache is not None:
            attrs["st_size"] = cache.size
        return attrs

    def open(self, path: str, flags: int) -> int:
        cache = self._cache(path)
        fh, self.next_fh = self.next_fh, self.next_fh + 1
        self.handles[fh] = cache
        if flags & os.O_TRUNC:
            cache.truncate(0)
        return fh

    def create(self, path: str, mode: int, fi=None) -> int:
        full = self._full(path)
        if not os.path.lexists(full):
            self.journal.add({"op": "create", "path": path.lstrip("/")})
        os.close(os.open(full, os.O_WRONLY | os.O_CREAT, mode))
        return self.open(path, os.O_WRONLY)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return self._cache(path, fh).read(size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        return self._cache(path, fh).write(data, offset)

    def truncate(self, path: str, length: int, fh: int | None = None) -> None:
        self._cache(path, fh).truncate(length)

    def fsync(self, path: str, datasync: int, fh: int) -> None:
        self._cache(path, fh).sync()

    def flush(self, path: str, fh: int) -> None:
        return None  # close() is not a sync

    def release(self, path: str, fh: int) -> None:
        cache = self.handles.pop(fh, None)
        if cache is None or cache in self.handles.values():
            return
        named = cache in self.caches.values()
        if not named or (not cache.pages and cache.size == cache.zero_from):
            # Nothing unsynced (the backing file has it all), or nobody can reach it again.
            os.close(cache.fd)
            for ino in [i for i, c in self.caches.items() if c is cache]:
                del self.caches[ino]

    # -- directories and names ------------------------------------------------------
    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", *os.listdir(self._full(path))]

    def opendir(self, path: str) -> int:
        return 0

    def fsyncdir(self, path: str, datasync: int, fh: int) -> None:
        self.journal.commit_dir(path.lstrip("/"))
        fd = os.open(self._full(path), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def mkdir(self, path: str, mode: int) -> None:
        self.journal.add({"op": "create", "path": path.lstrip("/")})
        os.mkdir(self._full(path), mode)

    def unlink(self, path: str) -> None:
        full = self._full(path)
        self._forget(full)
        entry = self.journal.add({"op": "unlink", "path": path.lstrip("/"),
                                  "trash": self.journal.trash_path()})
        os.rename(full, entry["trash"])

    rmdir = unlink  # a directory must be empty to be removed; it comes back empty

    def rename(self, old: str, new: str) -> None:
        src, dst = self._full(old), self._full(new)
        trash = self.journal.trash_path() if os.path.lexists(dst) else None
        if trash:
            self._forget(dst)
        self.journal.add({"op": "rename", "src": old.lstrip("/"), "dst": new.lstrip("/"),
                          "trash": trash})
        if trash:
            os.rename(dst, trash)
        os.rename(src, dst)

    # -- passed through, not modelled -----------------------------------------------
    def chmod(self, path: str, mode: int) -> None:
        os.chmod(self._full(path), mode)

    def chown(self, path: str, uid: int, gid: int) -> None:
        os.chown(self._full(path), uid, gid)

    def utimens(self, path: str, times=None) -> None:
        os.utime(self._full(path), ns=times)

    def access(self, path: str, amode: int) -> None:
        if not os.access(self._full(path), amode):
            raise FuseOSError(errno.EACCES)

    def readlink(self, path: str) -> str:
        return os.readlink(self._full(path))

    def symlink(self, target: str, source: str) -> None:
        os.symlink(source, self._full(target))

    def statfs(self, path: str) -> dict:
        st = os.statvfs(self._full(path))
        return {k: getattr(st, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize",
                                             "f_favail", "f_ffree", "f_files", "f_flag",
                                             "f_frsize", "f_namemax")}


def _control(fs: LazyFS) -> None:
    """Commands from the harness, one JSON line each on stdin: {"arm": {...}}, {"cut": why}."""
    for line in sys.stdin:
        command = json.loads(line)
        if "arm" in command:
            fs.arm(command["arm"])
        elif "cut" in command:
            fs.cut_now(command["cut"])


def main(argv: list[str]) -> int:
    backing, mount, state = (Path(a) for a in argv)
    fs = LazyFS(backing, state)
    threading.Thread(target=_control, args=(fs,), daemon=True).start()
    FUSE(fs, str(mount), foreground=True, nothreads=True, fsname="lazyfs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
