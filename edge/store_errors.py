"""Why the edge store cannot be opened or written, in words a crew can act on.

SQLite only says "unable to open database file" or "database or disk is full"; the cause
(a missing directory, a read-only filesystem, permissions, no space left) is found here by
looking at the path itself, and each message ends with the fix.
"""

import errno
import os
import shutil
from pathlib import Path


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return str(os.geteuid())


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _not_writable(path: Path) -> bool:
    """os.access is no help for root; a real create-and-remove probe is."""
    if path.is_dir():
        probe = path / f".walkway-write-probe-{os.getpid()}"
        try:
            probe.touch()
            probe.unlink()
        except OSError:
            return True
        return False
    try:
        os.close(os.open(path, os.O_WRONLY))
    except OSError as exc:
        return exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
    return False


def open_problem(path: Path, detail: str) -> str:
    """One line: which store, what is wrong with it, and how to fix it."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    where = f"{path}: cannot open store ({detail})"
    blocked = _unreachable(parent)
    if blocked is not None:
        return (f"{where}: permission denied on {blocked} for user {_user()}: give that user "
                f"access (chmod o+x {blocked}, or chown) or run as the store's owner")
    if not parent.exists():
        return (f"{where}: directory {parent} does not exist: create it (mkdir -p {parent}) "
                "or fix [store] path")
    if _read_only_fs(parent):
        return (f"{where}: {parent} is on a read-only filesystem: remount it read-write "
                "or point [store] path at a writable disk")
    for target in (parent, path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if target.exists() and _not_writable(target):
            return (f"{where}: {target} is not writable by user {_user()}: fix its owner or "
                    f"mode (chown {_user()} {target}) or run as the store's owner")
    if path.exists() and path.is_dir():
        return f"{where}: {path} is a directory: [store] path must name a file"
    if free_bytes(parent) == 0:
        return f"{where}: {disk_full_text(path)}"
    return where


def _unreachable(directory: Path) -> Path | None:
    """The first ancestor this user may not look into, if any."""
    for candidate in (*reversed(directory.absolute().parents), directory.absolute()):
        try:
            candidate.stat()
        except PermissionError:
            return candidate.parent
        except OSError:
            return None
    return None


def free_bytes(directory: Path) -> int | None:
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return None


def disk_full_text(path: Path) -> str:
    """'disk full: PATH: 0 KB free of 256 KB on DIR' (what a crew must clear)."""
    parent = Path(path).parent
    try:
        usage = shutil.disk_usage(parent)
    except OSError as exc:
        return f"disk full: {path}: {exc.strerror}"
    return (f"disk full: {path}: {usage.free // 1024} KB free of {usage.total // 1024} KB "
            f"on {parent}")
