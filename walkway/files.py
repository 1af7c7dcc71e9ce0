"""The one way to replace a file: atomically and durably, with its mode from the first byte.

    write_atomic(path, data)            # temp file in the same folder, fsync, rename, fsync dir
    write_private(path, secret)         # the same, readable by its owner only

Why atomic: a power cut or a SIGKILL mid-write must leave either the old or the new file,
never a truncated one (a certificate, a node config, an emergency notice, a heartbeat).
Why fsync the file and then the folder: the data must be on disk before the rename makes it
current, and the rename itself must be on disk before we report success.
Why the mode at open(): a chmod after writing leaves a window in which a private key is
readable by others.
Why a unique temp name: two writers of one file (the crew CLI and a remote command setting
the emergency notice) must not truncate each other's temp file.
"""

import os
import tempfile
from pathlib import Path

PRIVATE_FILE = 0o600
PUBLIC_FILE = 0o644
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """Create (or tighten) a directory only its owner can enter."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR)
    return path


def fsync_dir(path: str | Path) -> None:
    """Make a rename (or a new symlink) in `path` survive a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str | Path, data: bytes | str, mode: int = PUBLIC_FILE, *,
                 durable: bool = True) -> Path:
    """Replace `path` with `data` (str is written as UTF-8): fsync, rename, fsync the folder.

    durable=False skips both fsyncs (still atomic): only for files rewritten every few
    seconds whose loss in a power cut is harmless (the sign's heartbeat), to spare the SD card.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        try:
            os.fchmod(fd, mode)  # mkstemp creates 0600; umask plays no part in fchmod
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)
    return path


def write_private(path: str | Path, data: bytes | str) -> Path:
    return write_atomic(path, data, PRIVATE_FILE)
