"""Limits a content package must keep before anything is decoded or extracted (issue 18).

A package comes from the cloud or a crew's USB stick; a bad one must be refused with one
line and never reach the disk in full, the player's memory, or a path outside the content
folder. Every check here reads headers only.
"""

import os
import re
import struct
import tarfile
import zipfile
from pathlib import Path

from walkway.errors import InputFileError

# id and version name a folder under releases/: no '/', '..', NUL, nothing long.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_MEMBERS = 2000  # files and folders in an archive
MAX_PACKAGE_BYTES = 200 * 1024 * 1024  # sum of the files' sizes, declared or extracted
MAX_JSON_BYTES = 8 * 1024 * 1024  # one manifest, strings, places or data file
MAX_PIXELS = 4096 * 4096  # one image; a 12k x 12k PNG would take ~590 MB once decoded
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ContentError(InputFileError):
    """A content package is malformed or does not match its manifest."""


def check_name(value: str, field: str, where: str) -> str:
    if not NAME.fullmatch(value):
        raise ContentError(f"{where}: {field}: expected 1-64 letters, digits, '.', '_' or '-'"
                           f" (starting with a letter or digit), got {value[:40]!r}")
    return value


def check_png(blob: bytes, rel: str, where: str) -> tuple[int, int]:
    """Width and height from the PNG header; ContentError when it is not a PNG or too big."""
    if blob[:8] != PNG_SIGNATURE or blob[12:16] != b"IHDR" or len(blob) < 33:
        raise ContentError(f"{where}: assets: {rel}: expected a PNG file")
    width, height = struct.unpack(">II", blob[16:24])
    if width == 0 or height == 0 or width * height > MAX_PIXELS:
        raise ContentError(f"{where}: assets: {rel}: {width}x{height} pixels; expected at most"
                           f" {MAX_PIXELS} pixels (e.g. 4096x4096)")
    return width, height


def check_no_symlinks(root: Path) -> None:
    """A folder package holds plain files and folders only: a symlink (to '/', a linked
    data/ or manifest) would let it read or swap files outside itself."""
    count = 0
    stack = [os.fspath(root)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_symlink():
                    raise ContentError(f"{entry.path}: expected a file or folder, got a symlink")
                count += 1
                if count > MAX_MEMBERS:
                    raise ContentError(f"{root}: more than {MAX_MEMBERS} files and folders")
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)


def check_zip(archive: Path, z: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = z.infolist()
    _check_totals(archive, len(members), sum(i.file_size for i in members))
    return members


def check_tar_member(archive: Path, member: tarfile.TarInfo, seen: int, total: int) -> int:
    """One header of a tar read as a stream; returns the new running total of bytes."""
    if not (member.isreg() or member.isdir()) or member.issparse():
        raise ContentError(f"{archive}: {member.name}: expected only files and folders")
    total += member.size
    _check_totals(archive, seen, total)
    return total


def _check_totals(archive: Path, members: int, size: int) -> None:
    if members > MAX_MEMBERS:
        raise ContentError(f"{archive}: more than {MAX_MEMBERS} members; refused before"
                           " extraction")
    if size > MAX_PACKAGE_BYTES:
        raise ContentError(f"{archive}: declares more than {MAX_PACKAGE_BYTES} bytes"
                           f" ({MAX_PACKAGE_BYTES // 2**20} MiB); refused before extraction")


def copy_budgeted(source: "zipfile.ZipExtFile", dest: Path, budget: int, archive: Path) -> int:
    """Stream one member to disk; returns the budget left. Refuses more than declared."""
    with dest.open("wb") as out:
        while chunk := source.read(1 << 16):
            budget -= len(chunk)
            if budget < 0:
                raise ContentError(f"{archive}: expands beyond {MAX_PACKAGE_BYTES} bytes")
            out.write(chunk)
    return budget
