"""Writing secrets and public files atomically, with the right modes from the first byte.

Why atomic: a power cut during `renew` must leave either the old or the new certificate,
never a truncated one. Why the mode at open(): a chmod after writing leaves a window in which
a private key is readable by others.
"""

import os
from pathlib import Path

PRIVATE_FILE = 0o600
PUBLIC_FILE = 0o644
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """Create (or tighten) a directory only its owner can enter."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR)
    return path


def write_file(path: Path, data: bytes, mode: int = PUBLIC_FILE) -> Path:
    """Write `data` to `path` atomically (temp file + fsync + rename) with `mode`."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # umask may have narrowed or O_CREAT may have reused a file
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def write_private(path: Path, data: bytes) -> Path:
    return write_file(path, data, PRIVATE_FILE)
