"""Content over a real mosquitto: a signed pointer per sign plus the package in retained
chunks; canary, then all; a sign offline during the publish catches up; a tampered chunk and
an unsigned pointer are refused with one line and the old content keeps playing; rollback."""

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cloud_bridge.content_dist import (
    chunk_topic,
    content_status,
    fetch,
    pack,
    pointer_topic,
    publish,
)
from provisioning.content_key import create_content_key
from provisioning.signing import load_private_key, load_public_key
from signage_player.authoring.build import build
from signage_player.content import ContentError
from signage_player.install import install, load_current

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "tests" / "data" / "content_src"
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
SMALL = 2048  # chunk size in this test (the default is 48 KiB)
SIGNS = [("s1", "n1"), ("s1", "n2"), ("s1", "n3")]


def _package(tmp_path: Path, key_path: Path, version: str) -> Path:
    import shutil

    src = tmp_path / f"src-{version}"
    shutil.copytree(SRC, src)
    meta = src / "package.toml"
    meta.write_text(meta.read_text().replace('version = "2026.12.01"', f'version = "{version}"'))
    from signage_player.signing import load_private_key as content_key

    out = tmp_path / f"pkg-{version}"
    build(src, out, key=content_key(key_path), now=NOW, sizes=((1920, 1080),))
    return out


def _manifest(pkg: Path) -> dict:
    return json.loads((pkg / "manifest.json").read_text())


@pytest.fixture
def city(tmp_path):
    return create_content_key(tmp_path / "key")


def _sign_fetch(broker, tmp_path, site, node, city, timeout=5.0):
    return fetch(broker.url, site, node, tmp_path / node / "inbox", load_public_key(city.public),
                 timeout=timeout, now=time.time())


def _sign_install(tmp_path, node, archive, city, **kw):
    from signage_player.signing import load_public_key as content_pub

    return install(archive, tmp_path / node / "state", public_key=content_pub(city.public), **kw)


def _raw_publish(broker, topic, payload):
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="attacker", protocol=mqtt.MQTTv5)
    host, port = broker.url.removeprefix("mqtt://").split(":")
    c.connect(host, int(port))
    c.loop_start()
    c.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()


def test_canary_then_all_offline_catches_up_tampered_unsigned_rollback(broker, tmp_path, city):
    key = load_private_key(city.private)
    v1 = _package(tmp_path, city.private, "2026.12.01")
    v2 = _package(tmp_path, city.private, "2026.12.08")
    assert len(pack(v1)) > 3 * SMALL  # several chunks, so reassembly is exercised

    # v1 to everyone, each sign installs it (n3 is online for this one).
    publish(broker.url, v1, _manifest(v1), SIGNS, key, now=time.time(), chunk=SMALL)
    for site, node in SIGNS:
        got = _sign_fetch(broker, tmp_path, site, node, city)
        assert got.state == "fetched", got.reason
        assert _sign_install(tmp_path, node, got.path, city).version == "2026.12.01"

    # v2 canary: 34% of three signs = n1 only (sorted); n3 is offline meanwhile.
    r = subprocess.run([sys.executable, "-m", "walkway", "fleet", "publish-content", str(v2),
                        "--to", "s1/n1", "--to", "s1/n2", "--to", "s1/n3", "--canary", "34%",
                        "--key", str(city.private), "--broker", broker.url],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "to 1 sign(s): s1/n1; 2 left" in r.stdout
    got = _sign_fetch(broker, tmp_path, "s1", "n1", city)
    assert _sign_install(tmp_path, "n1", got.path, city).version == "2026.12.08"
    still_v1 = _sign_fetch(broker, tmp_path, "s1", "n2", city)
    assert still_v1.reason == "already here"  # its pointer still names v1
    assert load_current(tmp_path / "n2" / "state").version == "2026.12.01"

    # Then all; n2 fetches now, n3 only when it comes back (retained pointer and chunks).
    publish(broker.url, v2, _manifest(v2), SIGNS, key, now=time.time(), chunk=SMALL)
    got = _sign_fetch(broker, tmp_path, "s1", "n2", city)
    assert _sign_install(tmp_path, "n2", got.path, city).version == "2026.12.08"
    back = _sign_fetch(broker, tmp_path, "s1", "n3", city)
    assert back.state == "fetched"
    assert _sign_install(tmp_path, "n3", back.path, city).version == "2026.12.08"

    status = {(r["site"], r["node"]): r for r in content_status(broker.url, wait_s=0.5)}
    assert {k: v["published"]["version"] for k, v in status.items()} == {
        s: "2026.12.08" for s in SIGNS}
    assert all(v["state"]["state"] == "fetched" for v in status.values())

    # A tampered chunk on the broker: n1's next fetch is refused, v2 keeps playing.
    v3 = _package(tmp_path, city.private, "2026.12.15")
    ptr = publish(broker.url, v3, _manifest(v3), [("s1", "n1")], key, now=time.time(), chunk=SMALL)
    _raw_publish(broker, chunk_topic("s1", ptr["sha256"], 0), b"\0" * SMALL)
    bad = _sign_fetch(broker, tmp_path, "s1", "n1", city)
    assert bad.state == "refused" and "\n" not in bad.reason
    assert "sha256 of the received chunks does not match" in bad.reason
    assert load_current(tmp_path / "n1" / "state").version == "2026.12.08"

    # An unsigned pointer (e.g. from a stolen collector credential) is refused.
    forged = {k: v for k, v in ptr.items() if k != "signature"}
    _raw_publish(broker, pointer_topic("s1", "n2"), json.dumps(forged))
    bad = _sign_fetch(broker, tmp_path, "s1", "n2", city)
    assert bad.state == "refused" and "unsigned or not signed with the content key" in bad.reason
    assert load_current(tmp_path / "n2" / "state").version == "2026.12.08"

    # Rollback of n3 to v1: refused as older unless told to roll back.
    publish(broker.url, v1, _manifest(v1), [("s1", "n3")], key, now=time.time(), chunk=SMALL)
    got = _sign_fetch(broker, tmp_path, "s1", "n3", city)
    with pytest.raises(ContentError, match="older than the playing"):
        _sign_install(tmp_path, "n3", got.path, city)
    assert _sign_install(tmp_path, "n3", got.path, city, rollback=True).version == "2026.12.01"
    r = subprocess.run([sys.executable, "-m", "walkway", "fleet", "content-status", "--broker",
                        broker.url, "--wait", "0.5"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "s1/n2" in r.stdout and "refused" in r.stdout
