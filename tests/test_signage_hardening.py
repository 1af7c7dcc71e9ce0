"""Issue 18 items 4-5: content packages that try to escape, exhaust or crash the sign are
refused with one line before anything is extracted or decoded; the last good one plays."""

import io
import json
import shutil
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from signage_player import package_limits
from signage_player.config import SignageConfig
from signage_player.content import ContentError, write_manifest_hashes
from signage_player.install import current_target, install, load_current
from signage_player.player import ensure_content

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "signage_player" / "example_content" / "sapporo"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    install(CONTENT, state)
    return state


@pytest.fixture
def pkg(tmp_path: Path) -> Path:
    dest = tmp_path / "pkg"
    shutil.copytree(CONTENT, dest)
    _manifest(dest, version="2026.12.01")
    return dest


def _manifest(pkg: Path, **changes: object) -> None:
    m = json.loads((pkg / "manifest.json").read_text())
    m.update(changes)
    (pkg / "manifest.json").write_text(json.dumps(m, ensure_ascii=False))
    write_manifest_hashes(pkg)


def _refused(state: Path, source: Path, match: str) -> str:
    before = current_target(state)
    with pytest.raises(ContentError, match=match) as info:
        install(source, state, try_render=True)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400
    assert current_target(state) == before
    assert load_current(state).version == "2026.11.24"
    assert not list((state / "content").glob(".staging-*"))
    releases = state / "content" / "releases"
    assert [p.name for p in releases.iterdir()] == [before.name]
    return str(info.value)


@pytest.mark.parametrize("field", ["id", "version"])
@pytest.mark.parametrize("value", ["../../../../escaped", "a/b", "x\0y", "v" * 300, "",
                                   ".hidden", "..", "ok ok"])
def test_manifest_id_and_version_are_names(state, pkg, tmp_path, field, value) -> None:
    _manifest(pkg, **{field: value})
    _refused(state, pkg, rf"manifest.json: {field}: expected 1-64 letters")
    # releases/../../../../escaped-... would have landed next to tmp_path
    assert not list(tmp_path.parent.glob("escaped*")) and not list(tmp_path.glob("escaped*"))


def test_deeply_nested_json_is_refused_and_the_player_keeps_playing(state, pkg) -> None:
    (pkg / "data" / "events.json").write_text("[" * 100_000 + "]" * 100_000)
    write_manifest_hashes(pkg)
    _refused(state, pkg, r"events.json: expected valid UTF-8 JSON: nested deeper")
    # The player's start path: the configured package is bad, the installed one plays.
    package = ensure_content(SignageConfig(content=pkg, state_dir=state))
    assert package.version == "2026.11.24"


def _png(width: int, height: int, body: bytes = b"") -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (package_limits.PNG_SIGNATURE + struct.pack(">I", 13) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + body)


def test_undecodable_png_is_refused_at_install(state, pkg) -> None:
    (pkg / "assets" / "walk.png").write_bytes(_png(64, 64, b"garbage, not IDAT"))
    write_manifest_hashes(pkg)
    _refused(state, pkg, r"walk.png: expected a PNG that decodes")
    assert ensure_content(SignageConfig(content=pkg, state_dir=state)).version == "2026.11.24"


def test_huge_png_is_refused_from_its_header(state, pkg) -> None:
    # 12k x 12k would decode to ~590 MB; only its 33-byte header is read.
    (pkg / "assets" / "walk.png").write_bytes(_png(12_000, 12_000))
    write_manifest_hashes(pkg)
    _refused(state, pkg, r"walk.png: 12000x12000 pixels; expected at most")
    (pkg / "assets" / "walk.png").write_bytes(b"GIF89a not a png")
    write_manifest_hashes(pkg)
    _refused(state, pkg, r"walk.png: not a readable PNG or JPEG")


@pytest.mark.parametrize("kind", ["to root", "data folder", "manifest"])
def test_folder_packages_with_symlinks_are_refused(state, pkg, tmp_path, kind) -> None:
    if kind == "to root":
        (pkg / "data" / "root").symlink_to("/")
    elif kind == "data folder":
        shutil.move(pkg / "data", tmp_path / "elsewhere")
        (pkg / "data").symlink_to(tmp_path / "elsewhere")
    else:
        shutil.move(pkg / "manifest.json", tmp_path / "manifest.json")
        (pkg / "manifest.json").symlink_to(tmp_path / "manifest.json")
    _refused(state, pkg, r"expected a file or folder, got a symlink")


def _patch_sizes(archive: Path, size: int, where: tuple[bytes, ...]) -> None:
    """Rewrite the declared uncompressed size of the (only) member in the given headers."""
    offsets = {b"PK\x03\x04": 22, b"PK\x01\x02": 24}
    data = bytearray(archive.read_bytes())
    for sig in where:
        at = data.index(sig)
        data[at + offsets[sig]:at + offsets[sig] + 4] = struct.pack("<I", size)
    archive.write_bytes(bytes(data))


def test_zip_bomb_is_refused_before_extraction(state, tmp_path) -> None:
    # 4 GB declared in a few hundred bytes: refused from the central directory.
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.bin", bytes(1 << 16))
    _patch_sizes(bomb, 0xFFFFFFF0, (b"PK\x01\x02",))
    _refused(state, bomb, r"declares more than 209715200 bytes")
    assert not any((state / "content").rglob("big.bin"))


def test_zip_over_the_limit_is_refused(state, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(package_limits, "MAX_PACKAGE_BYTES", 1 << 20)
    bomb = tmp_path / "zeros.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(3):
            z.writestr(f"zero{i}.bin", bytes(1 << 20))
    assert bomb.stat().st_size < 20_000
    _refused(state, bomb, r"declares more than 1048576 bytes")


def test_zip_that_lies_about_its_sizes_stops_at_the_budget(state, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(package_limits, "MAX_PACKAGE_BYTES", 1 << 20)
    liar = tmp_path / "liar.zip"
    with zipfile.ZipFile(liar, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.bin", bytes(4 << 20))
    _patch_sizes(liar, 1024, (b"PK\x03\x04", b"PK\x01\x02"))  # says 1 KB, holds 4 MB
    message = _refused(state, liar, r"liar.zip")
    assert "expected a readable archive" in message or "expands beyond" in message


def test_tar_bombs_are_refused_from_headers(state, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(package_limits, "MAX_MEMBERS", 50)
    many = tmp_path / "many.tar.gz"
    with tarfile.open(many, "w:gz") as t:
        for i in range(60):
            info = tarfile.TarInfo(f"f{i}.json")
            info.size = 2
            t.addfile(info, io.BytesIO(b"{}"))
    _refused(state, many, r"more than 50 members")
    big = tmp_path / "big.tar"
    with tarfile.open(big, "w") as t:  # a header declaring 4 GB, and no data behind it
        info = tarfile.TarInfo("big.bin")
        info.size = 4 * 2**30
        big_header = info.tobuf()
    big.write_bytes(big_header + bytes(1024))
    _refused(state, big, r"declares more than")
    assert not any((state / "content").rglob("big.bin"))


def test_archive_members_with_nul_or_links_are_refused(state, tmp_path) -> None:
    link = tmp_path / "link.tar"
    with tarfile.open(link, "w") as t:
        info = tarfile.TarInfo("manifest.json")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        t.addfile(info)
    _refused(state, link, r"expected only files and folders")
