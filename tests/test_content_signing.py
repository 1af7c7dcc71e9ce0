"""Signed content packages: the sign installs only what the city's content key signed, and
never an older package unless told to roll back. The old content keeps playing otherwise."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from provisioning.content_key import create_content_key
from signage_player.content import ContentError, write_manifest_hashes
from signage_player.install import current_target, install, load_current
from signage_player.signing import load_private_key, load_public_key, sign_package, version_key

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "signage_player" / "example_content" / "sapporo"


@pytest.fixture
def keys(tmp_path: Path):
    city = create_content_key(tmp_path / "city-key")
    other = create_content_key(tmp_path / "other-key")
    return city, other


def _package(tmp_path: Path, name: str, version: str, key_path: Path | None) -> Path:
    dest = tmp_path / name
    shutil.copytree(CONTENT, dest)
    m = json.loads((dest / "manifest.json").read_text())
    m["version"] = version
    (dest / "manifest.json").write_text(json.dumps(m, ensure_ascii=False))
    write_manifest_hashes(dest)
    if key_path is not None:
        sign_package(dest, load_private_key(key_path))
    return dest


@pytest.fixture
def playing(tmp_path: Path, keys):
    city, _ = keys
    state = tmp_path / "state"
    pkg = _package(tmp_path, "v2", "2026.12.02", city.private)
    install(pkg, state, public_key=load_public_key(city.public))
    return state


def _refused(state: Path, pkg: Path, pub: object, match: str, **kw) -> str:
    before = current_target(state)
    with pytest.raises(ContentError, match=match) as info:
        install(pkg, state, public_key=pub, **kw)
    assert "\n" not in str(info.value)
    assert current_target(state) == before
    assert load_current(state).version == "2026.12.02"  # the old content keeps playing
    return str(info.value)


def test_key_files_are_private_and_not_replaced(keys):
    city, _ = keys
    assert city.private.stat().st_mode & 0o077 == 0
    assert "PRIVATE" not in city.public.read_text()
    with pytest.raises(Exception, match="already exists"):
        create_content_key(city.private.parent)


def test_signed_newer_package_installs(tmp_path, keys, playing):
    city, _ = keys
    pkg = _package(tmp_path, "v3", "2026.12.10", city.private)
    assert install(pkg, playing, public_key=load_public_key(city.public)).version == "2026.12.10"


def test_tampered_file_refused(tmp_path, keys, playing):
    city, _ = keys
    pkg = _package(tmp_path, "v3", "2026.12.10", city.private)
    events = pkg / "data" / "events.json"
    events.write_text(events.read_text().replace("Sapporo White", "Free beer at"))
    _refused(playing, pkg, load_public_key(city.public), "sha256 mismatch")


def test_tampered_manifest_refused(tmp_path, keys, playing):
    city, _ = keys
    pkg = _package(tmp_path, "v3", "2026.12.10", city.private)
    events = pkg / "data" / "events.json"
    events.write_text(events.read_text().replace("Sapporo White", "Free beer at"))
    write_manifest_hashes(pkg)  # rehashed by the attacker: the signature no longer matches
    _refused(playing, pkg, load_public_key(city.public), "signature does not match")


def test_unsigned_refused(tmp_path, keys, playing):
    city, _ = keys
    pkg = _package(tmp_path, "v3", "2026.12.10", None)
    msg = _refused(playing, pkg, load_public_key(city.public), "unsigned")
    assert "manifest.sig" in msg


def test_wrong_key_refused(tmp_path, keys, playing):
    city, other = keys
    pkg = _package(tmp_path, "v3", "2026.12.10", other.private)
    _refused(playing, pkg, load_public_key(city.public), "signature does not match")


def test_older_version_refused_then_rollback_allowed(tmp_path, keys, playing):
    city, _ = keys
    pub = load_public_key(city.public)
    old = _package(tmp_path, "v1", "2026.11.30", city.private)
    msg = _refused(playing, old, pub, "older than the playing")
    assert "2026.11.30" in msg and "--rollback" in msg
    assert install(old, playing, public_key=pub, rollback=True).version == "2026.11.30"


def test_older_refused_even_without_key(tmp_path, playing):
    old = _package(tmp_path, "v1", "2026.11.30", None)
    _refused(playing, old, None, "older than the playing")


def test_same_version_older_created_refused(tmp_path, keys, playing):
    city, _ = keys
    pub = load_public_key(city.public)
    newer = _package(tmp_path, "v2b", "2026.12.02", None)
    m = json.loads((newer / "manifest.json").read_text())
    m["created"] = "2026-12-02T09:00:00Z"
    (newer / "manifest.json").write_text(json.dumps(m, ensure_ascii=False))
    sign_package(newer, load_private_key(city.private))
    install(newer, playing, public_key=pub)
    older = _package(tmp_path, "v2a", "2026.12.02", None)
    m["created"] = "2026-12-01T09:00:00Z"
    (older / "manifest.json").write_text(json.dumps(m, ensure_ascii=False))
    sign_package(older, load_private_key(city.private))
    with pytest.raises(ContentError, match="older"):
        install(older, playing, public_key=pub)


def test_version_order():
    assert version_key("2026.12.2") < version_key("2026.12.10")
    assert version_key("2026.12.01") == version_key("2026.12.1")
    assert version_key("1.0") < version_key("1.0.1")


def test_cli_install_refuses_unsigned_and_rolls_back(tmp_path, keys):
    city, _ = keys
    state = tmp_path / "state"
    config = tmp_path / "node.toml"
    config.write_text(
        '[node]\nid = "n1"\nsite = "s1"\n[store]\npath = "s.db"\n[mqtt]\n'
        f'[signage]\nstate_dir = "{state}"\ncontent_public_key = "{city.public}"\n'
    )
    walkway = [sys.executable, "-m", "walkway"]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*walkway, "signage", "install", *args, "--config", str(config)],
                              capture_output=True, text=True, timeout=120,
                              env={"SDL_VIDEODRIVER": "dummy", "PATH": "/usr/bin:/bin"})

    new = _package(tmp_path, "v2", "2026.12.02", city.private)
    assert run(str(new)).returncode == 0
    unsigned = _package(tmp_path, "v3", "2026.12.10", None)
    r = run(str(unsigned))
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1
    assert "unsigned" in r.stderr
    old = _package(tmp_path, "v1", "2026.11.30", city.private)
    r = run(str(old))
    assert r.returncode != 0 and "older" in r.stderr
    r = run(str(old), "--rollback")
    assert r.returncode == 0 and "2026.11.30" in r.stdout
