"""Content updates: staged, verified, swapped atomically; bad packages rejected, old one plays."""

import json
import shutil
import tarfile
from pathlib import Path

import pytest

from signage_player.content import ContentError, load_package, write_manifest_hashes
from signage_player.install import current_target, install, load_current

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "signage_player" / "example_content" / "sapporo"


@pytest.fixture
def pkg(tmp_path: Path) -> Path:
    """A private copy of the Sapporo package, version bumped, hashes recomputed."""
    dest = tmp_path / "pkg"
    shutil.copytree(CONTENT, dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    manifest["version"] = "2026.12.01"
    (dest / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
    write_manifest_hashes(dest)
    return dest


@pytest.fixture
def state(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    install(CONTENT, state)
    return state


def _set_manifest(pkg: Path, **changes) -> None:
    m = json.loads((pkg / "manifest.json").read_text())
    m.update(changes)
    (pkg / "manifest.json").write_text(json.dumps(m, ensure_ascii=False))


def test_shipped_package_verifies():
    p = load_package(CONTENT)
    assert p.languages == ("ja", "en", "zh-Hans", "ko")
    assert {s.type for s in p.scenes} >= {
        "events",
        "route",
        "crowding",
        "weather",
        "health_points",
        "jogging",
        "notices",
        "emergency",
    }


def test_good_swap_is_atomic_and_current(state, pkg):
    before = current_target(state)
    new = install(pkg, state)
    after = current_target(state)
    assert new.version == "2026.12.01" and after != before
    assert (state / "content" / "current").is_symlink()
    assert load_current(state).version == "2026.12.01"
    assert not list((state / "content").glob(".staging-*"))


def test_archive_install(state, pkg, tmp_path):
    archive = tmp_path / "pkg.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        t.add(pkg, arcname="sapporo")
    assert install(archive, state).version == "2026.12.01"


def _rejected(state: Path, pkg: Path, match: str) -> None:
    before = current_target(state)
    with pytest.raises(ContentError, match=match) as info:
        install(pkg, state)
    message = str(info.value)
    assert "\n" not in message
    assert current_target(state) == before  # the last good package keeps playing
    assert load_current(state).version == "2026.11.24"
    assert not list((state / "content").glob(".staging-*"))


def test_corrupt_file_rejected(state, pkg):
    (pkg / "data" / "events.json").write_text('{"items": [', "utf-8")
    _rejected(state, pkg, r"data/events.json: sha256 mismatch")


def test_corrupt_json_with_matching_hash_rejected(state, pkg):
    (pkg / "data" / "events.json").write_text('{"items": [', "utf-8")
    write_manifest_hashes(pkg)
    _rejected(state, pkg, r"data/events.json: expected valid UTF-8 JSON")


def test_wrong_hash_rejected(state, pkg):
    m = json.loads((pkg / "manifest.json").read_text())
    m["files"]["assets/walk.png"] = "0" * 64
    (pkg / "manifest.json").write_text(json.dumps(m))
    _rejected(state, pkg, r"assets/walk.png: sha256 mismatch: manifest says 000000000000")


def test_missing_asset_rejected(state, pkg):
    (pkg / "assets" / "snow.png").unlink()
    _rejected(state, pkg, r"assets/snow.png: missing file listed in manifest files")


def test_unlisted_file_rejected(state, pkg):
    (pkg / "data" / "extra.json").write_text("{}")
    _rejected(state, pkg, r"extra.json: file not listed in manifest")


@pytest.mark.parametrize(
    "change, match",
    [
        ({"format": 2}, r"manifest.json: format: expected 1, got 2"),
        ({"languages": ["en", "ja"]}, r"manifest.json: languages: expected ja first"),
        ({"location": "nowhere"}, r"manifest.json: location: expected a place id"),
        (
            {"scenes": [{"id": "x", "type": "disco", "data": "data/events.json"}]},
            r"scenes\[0\]: type: expected one of events",
        ),
        (
            {
                "scenes": [
                    {
                        "id": "x",
                        "type": "events",
                        "data": "data/events.json",
                        "schedule": [{"from": "25:00"}],
                    }
                ]
            },
            r"scenes\[0\]: schedule: \[0\].from",
        ),
        ({"assets": ["assets/nope.png"]}, r"assets\[0\]: 'assets/nope.png' is not in files"),
        (
            {"scenes": [{"id": "e", "type": "events", "data": "data/events.json"}]},
            r"scenes: expected an emergency scene",
        ),
    ],
)
def test_malformed_manifest_rejected(state, pkg, change, match):
    _set_manifest(pkg, **change)
    write_manifest_hashes(pkg)
    _rejected(state, pkg, match)


def test_manifest_not_json_rejected(state, pkg):
    (pkg / "manifest.json").write_text("{ not json")
    _rejected(state, pkg, r"manifest.json: expected valid UTF-8 JSON")


def test_missing_translation_rejected(state, pkg):
    events = json.loads((pkg / "data" / "events.json").read_text())
    del events["items"][1]["title"]["ko"]
    (pkg / "data" / "events.json").write_text(json.dumps(events, ensure_ascii=False))
    write_manifest_hashes(pkg)
    _rejected(state, pkg, r"data/events.json: items\[1\].title: missing ko text")


def test_player_keeps_old_content_when_current_is_damaged(state, pkg):
    """A release damaged on disk after the swap is refused by the running player."""
    from signage_player.config import SignageConfig
    from signage_player.player import Player

    cfg = SignageConfig(content=None, state_dir=state)
    player = Player(cfg, renderer=None, package=load_current(state))  # type: ignore[arg-type]
    new = install(pkg, state)
    (current_target(state) / "data" / "notices.json").write_text("{}")
    player.check(0.0)
    assert player.package.version == "2026.11.24"  # refused; old keeps playing
    assert new.version == "2026.12.01"


def test_player_picks_up_good_swap(state, pkg):
    from signage_player.config import SignageConfig
    from signage_player.player import Player

    cfg = SignageConfig(content=None, state_dir=state)
    player = Player(cfg, renderer=None, package=load_current(state))  # type: ignore[arg-type]
    install(pkg, state)
    player.check(0.0)
    assert player.package.version == "2026.12.01"


def test_data_that_cannot_be_shown_is_refused_at_install(state, pkg):
    events = json.loads((pkg / "data" / "events.json").read_text())
    events["items"][0]["place"] = "atlantis"  # well-formed, but no such place
    (pkg / "data" / "events.json").write_text(json.dumps(events, ensure_ascii=False))
    write_manifest_hashes(pkg)
    before = current_target(state)
    with pytest.raises(ContentError, match=r"events.json: scene 'events' cannot be shown in ja"):
        install(pkg, state, try_render=True)
    assert current_target(state) == before
