"""Tar content packages: the same refusals and the same extracted files whether or not the
stdlib's "data" extraction filter exists (Python >= 3.11.4 has it; Debian 12 and Raspberry Pi
OS bookworm ship 3.11.2, where signage_player.install does the same work itself)."""

import io
import os
import shutil
import stat
import tarfile
from pathlib import Path

import pytest

from signage_player.content import ContentError
from signage_player.install import current_target, install

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "signage_player" / "example_content" / "sapporo"
HAS_FILTER = hasattr(tarfile, "data_filter")


def _member(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor, info.devminor = 1, 3
    return info


BAD = {
    "absolute path": (_member("/tmp/walkway-evil", tarfile.REGTYPE),
                      "/tmp/walkway-evil: expected a relative path inside the archive"),
    "dot-dot": (_member("sapporo/../../walkway-evil", tarfile.REGTYPE),
                "sapporo/../../walkway-evil: expected a relative path inside the archive"),
    "symlink": (_member("sapporo/passwd", tarfile.SYMTYPE, "/etc/passwd"),
                "sapporo/passwd: expected only files and folders"),
    "hardlink": (_member("sapporo/hard", tarfile.LNKTYPE, "sapporo/manifest.json"),
                 "sapporo/hard: expected only files and folders"),
    "char device": (_member("sapporo/null", tarfile.CHRTYPE),
                    "sapporo/null: expected only files and folders"),
    "block device": (_member("sapporo/disk", tarfile.BLKTYPE),
                     "sapporo/disk: expected only files and folders"),
    "fifo": (_member("sapporo/pipe", tarfile.FIFOTYPE),
             "sapporo/pipe: expected only files and folders"),
}


def _archive(path: Path, extra: tarfile.TarInfo | None = None, modes: bool = False) -> Path:
    def hostile_modes(info: tarfile.TarInfo) -> tarfile.TarInfo:
        # setuid + world-writable, foreign owners: what a careless or hostile packer leaves.
        if modes:
            info.mode = 0o4777 if info.name.endswith("manifest.json") else (
                0o2777 if info.isdir() else 0o666)
            info.uid = info.gid = 54321
            info.uname = info.gname = "packer"
        return info

    with tarfile.open(path, "w:gz") as t:
        t.add(CONTENT, arcname="sapporo", filter=hostile_modes)
        if extra is not None:
            t.addfile(extra, io.BytesIO(b"x") if extra.isreg() else None)
    return path


@pytest.mark.parametrize("case", sorted(BAD))
def test_tar_refusals_are_the_same_with_and_without_the_stdlib_filter(
        case: str, tmp_path: Path, monkeypatch) -> None:
    member, expected = BAD[case]
    archive = _archive(tmp_path / "pkg.tar.gz", member)
    messages = []
    for present in (True, False):
        with monkeypatch.context() as m:
            if present and not HAS_FILTER:
                m.setattr(tarfile, "data_filter", object(), raising=False)
            elif not present:
                m.delattr(tarfile, "data_filter", raising=False)
            state = tmp_path / f"state-{present}"
            with pytest.raises(ContentError) as info:
                install(archive, state)
            messages.append(str(info.value))
            assert current_target(state) is None  # nothing went live
            assert not list((state / "content").glob(".staging-*"))
    assert messages[0] == messages[1] == f"{archive}: {expected}"
    assert not Path("/tmp/walkway-evil").exists()
    assert not (tmp_path.parent / "walkway-evil").exists()


def test_tar_extracts_plain_files_without_the_filter(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    _check_plain_install(tmp_path)


@pytest.mark.skipif(not HAS_FILTER, reason="this Python has no tarfile.data_filter (< 3.11.4)")
def test_tar_extracts_plain_files_with_the_filter(tmp_path: Path) -> None:
    _check_plain_install(tmp_path)


def _check_plain_install(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "pkg.tar.gz", modes=True)
    package = install(archive, tmp_path / "state")
    assert package.id
    release = current_target(tmp_path / "state")
    manifest = release / "manifest.json"
    # 0o4777 -> 0o755: no setuid, no group/other write; 0o666 -> 0o644.
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o755
    others = [p for p in release.rglob("*") if p.is_file() and p.name != "manifest.json"]
    assert others and {stat.S_IMODE(p.stat().st_mode) for p in others} == {0o644}
    folders = [p for p in release.rglob("*") if p.is_dir()]
    assert all(not stat.S_IMODE(p.stat().st_mode) & 0o7022 for p in folders)
    # Owned by whoever installs, never by the archive's uid (which root would apply).
    assert {p.stat().st_uid for p in release.rglob("*")} == {os.getuid()}
    shutil.rmtree(tmp_path / "state")
