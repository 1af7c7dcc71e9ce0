"""Stage, verify and atomically swap content packages in the player's state folder.

Layout under `state_dir/content/`:
  releases/<id>-<version>-<digest8>/   verified packages (the newest few are kept)
  current -> releases/...              a symlink, replaced with rename(2): atomic
  .staging-*                           work in progress; removed on success or failure

A package (folder, .zip, .tar, .tar.gz/.tgz) is copied or extracted into staging and the
*copy* is verified, so what goes live is exactly what was checked. Any problem raises a
ContentError and leaves `current` untouched: the last good package keeps playing.
"""

import copy
import logging
import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

from signage_player import package_limits as limits
from signage_player.content import ContentError, Package, load_package
from signage_player.signing import check_not_older, verify_signature
from walkway.files import fsync_dir

log = logging.getLogger(__name__)
KEEP_RELEASES = 3


def content_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "content"


def current_path(state_dir: Path) -> Path:
    return content_dir(state_dir) / "current"


def _extract(archive: Path, dest: Path) -> None:
    """Extract with limits checked from the headers first (member count, declared sizes),
    then streamed with a byte budget, so a zip or tar bomb never fills the store's disk."""
    name = archive.name.lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(archive) as z:
                budget = limits.MAX_PACKAGE_BYTES
                for info in limits.check_zip(archive, z):
                    _safe_member(archive, info.filename)
                    target = dest / info.filename
                    if info.is_dir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with z.open(info) as member:
                        budget = limits.copy_budgeted(member, target, budget, archive)
        elif name.endswith((".tar", ".tar.gz", ".tgz")):
            with tarfile.open(archive) as t:
                # Read as a stream: headers are checked (and totals kept) before any
                # member is listed for extraction, and the listing stops at the limit.
                total, members = 0, []
                for member in t:
                    _safe_member(archive, member.name)
                    members.append(member)
                    total = limits.check_tar_member(archive, member, len(members), total)
                # The stdlib's "data" filter exists from Python 3.11.4; Debian 12 and
                # Raspberry Pi OS bookworm ship 3.11.2. The member checks above already
                # refuse every path and type that filter would; on 3.11.2 the modes and
                # owners are made plain the way it does, so both extract the same files.
                if hasattr(tarfile, "data_filter"):
                    t.extractall(dest, members=members, filter="data")
                else:
                    t.extractall(dest, members=[_plain(m) for m in members],
                                 numeric_owner=True)
        else:
            raise ContentError(f"{archive}: expected a folder, .zip, .tar, .tar.gz or .tgz")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise ContentError(f"{archive}: expected a readable archive: {exc}") from exc
    # An archive may wrap the package in one top folder.
    entries = list(dest.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and not (dest / "manifest.json").exists():
        inner = entries[0]
        for child in list(inner.iterdir()):
            child.rename(dest / child.name)
        inner.rmdir()


def _plain(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """A checked file or folder as the "data" filter leaves it: no setuid, setgid or sticky
    bit, no group/other write, owner read+write, owned by whoever extracts it (as root,
    the archive's owners would otherwise be applied)."""
    plain = copy.copy(member)
    mode = member.mode & 0o755
    if member.isdir():
        mode = 0o755
    elif not mode & 0o100:
        mode &= ~0o111  # not executable by its owner: by nobody
    plain.mode = mode | (0o600 if member.isfile() else 0)
    plain.uid, plain.gid, plain.uname, plain.gname = os.getuid(), os.getgid(), "", ""
    return plain


def _safe_member(archive: Path, name: str) -> None:
    p = Path(name)
    if p.is_absolute() or ".." in p.parts or "\0" in name or not p.parts:
        raise ContentError(f"{archive}: {name}: expected a relative path inside the archive")


def install(
    source: str | Path,
    state_dir: str | Path,
    *,
    try_render: bool = False,
    public_key: Any = None,
    rollback: bool = False,
    layouts: tuple[dict, ...] | None = None,
    refuse_cut: bool = True,
) -> Package:
    """Stage, verify and swap in `source`; returns the verified Package now current.

    With try_render, every scene is also laid out in every language (no drawing) so data
    that is well-formed JSON but unusable (a missing key, an unknown place) is refused here
    rather than skipped on the street, and text that would be cut is refused; `layouts` are
    the sign's (offscreen.sign_layouts), by default both orientations in both modes.

    With public_key (an Ed25519 public key), the staged copy must carry a valid
    manifest.sig; a package older than the current one is refused unless rollback
    (signage_player/signing.py)."""
    source, state_dir = Path(source), Path(state_dir)
    if not source.exists():
        raise ContentError(f"{source}: no such content package")
    base = content_dir(state_dir)
    (base / "releases").mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=base))
    try:
        if source.is_dir():
            limits.check_no_symlinks(source)  # refused in the source, not only in the copy
            shutil.copytree(source, staging, dirs_exist_ok=True, symlinks=True)
        else:
            _extract(source, staging)
        if public_key is not None:
            verify_signature(staging, public_key)
        staged = load_package(staging)
        check_not_older(staged, _current_or_none(state_dir), rollback=rollback)
        if try_render:
            from signage_player.offscreen import check_renders

            for warning in check_renders(staged, source, layouts=layouts, refuse_cut=refuse_cut):
                log.warning("signage: %s", warning)
        release = base / "releases" / f"{staged.id}-{staged.version}-{staged.digest[:8]}"
        if release.exists():
            shutil.rmtree(staging)
        else:
            os.rename(staging, release)
    except ContentError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise type(exc)(_author_paths(str(exc), staging, source)) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    link_tmp = base / ".current.tmp"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    os.symlink(Path("releases") / release.name, link_tmp)
    os.replace(link_tmp, current_path(state_dir))
    fsync_dir(base)
    log.info("signage: content %s %s is now current", staged.id, staged.version)
    _prune(base, keep=release.name)
    return load_package(release)


def _author_paths(message: str, staging: Path, source: Path) -> str:
    """Name the file the author edits, not the staging copy that was verified: a folder's
    own path, or `archive:inner/path` for an archive."""
    sep = "/" if source.is_dir() else ":"
    message = message.replace(f"{staging}/", f"{source}{sep}").replace(str(staging), str(source))
    return message.replace("PACKAGE_DIR", str(source)) if source.is_dir() else message


def _prune(base: Path, keep: str) -> None:
    releases = sorted((base / "releases").iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in releases[KEEP_RELEASES:]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def current_target(state_dir: str | Path) -> Path | None:
    """The release `current` points at, or None if nothing was installed yet."""
    link = current_path(Path(state_dir))
    if not link.is_symlink():
        return None
    return (link.parent / os.readlink(link)).resolve()


def _current_or_none(state_dir: Path) -> Package | None:
    """What plays now, for the never-older check; a damaged current release counts as none."""
    try:
        return load_current(state_dir)
    except ContentError:
        return None


def load_current(state_dir: str | Path) -> Package | None:
    target = current_target(state_dir)
    return None if target is None else load_package(target)


__all__ = ["ContentError", "current_target", "install", "load_current"]
