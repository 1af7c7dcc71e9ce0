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
# One video slide (signage_player/mp4.py): streamed from disk, never held in memory, but a
# Pi decodes H.264 in software (docs/signage.md, "Video slides"): 1080p is its ceiling.
MAX_VIDEO_BYTES = 100 * 1024 * 1024
MAX_VIDEO_PIXELS = 1920 * 1080
MAX_VIDEO_SECONDS = 600
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ContentError(InputFileError):
    """A content package is malformed or does not match its manifest."""


def check_name(value: str, field: str, where: str) -> str:
    if not NAME.fullmatch(value):
        raise ContentError(f"{where}: {field}: expected 1-64 letters, digits, '.', '_' or '-'"
                           f" (starting with a letter or digit), got {value[:40]!r}")
    return value


def check_image(blob: bytes, rel: str, where: str) -> tuple[int, int]:
    """Width and height from a PNG's IHDR or a JPEG's frame header; ContentError when it is
    neither or too big. Read before anything decodes it: a 12k x 12k image takes ~590 MB."""
    if blob[:8] == PNG_SIGNATURE and blob[12:16] == b"IHDR" and len(blob) >= 33:
        width, height = struct.unpack(">II", blob[16:24])
    elif blob[:2] == b"\xff\xd8":
        width, height = _jpeg_size(blob)
    else:
        width = height = 0
    if width == 0 or height == 0:
        raise ContentError(f"{where}: assets: {rel}: not a readable PNG or JPEG"
                           " (expected a PNG or JPEG file)")
    if width * height > MAX_PIXELS:
        raise ContentError(f"{where}: assets: {rel}: {width}x{height} pixels; expected at most"
                           f" {MAX_PIXELS} pixels (e.g. 4096x4096)")
    return width, height


def _jpeg_size(blob: bytes) -> tuple[int, int]:
    """(width, height) from the first start-of-frame marker; (0, 0) if there is none."""
    i = 2
    while i + 9 <= len(blob):
        if blob[i] != 0xFF:
            return 0, 0
        marker = blob[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length field
            i += 2
            continue
        length = struct.unpack(">H", blob[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", blob[i + 5:i + 9])
            return width, height
        i += 2 + length
    return 0, 0


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
