"""Content over a real mosquitto, fetched by each sign's own bridge (no command on the sign):
canary, then all, to a tag group from the fleet registry; a sign offline during the publish
catches up when it returns; a tampered chunk and an unsigned pointer are refused with one
line while the old content keeps playing; a rollback by hand, and an automatic one when the
canary refuses the new package; chunks no pointer names are cleared from the broker."""

import json
import time

import paho.mqtt.client as mqtt
import pytest
from content_fixtures import SMALL, Sign, manifest, package, walkway
from paho.mqtt.enums import CallbackAPIVersion
from support.walkway_procs import wait_for

from cloud_bridge.content_dist import (
    Publisher,
    current_pointers,
    pack,
    package_ref,
    pointer,
    pointer_topic,
    publish_chunks,
    publish_pointers,
)
from provisioning.content_key import create_content_key
from provisioning.signing import load_private_key

TIMEOUT = 60.0  # only reached when something is broken
V1, V2, V3, V4 = "2026.12.01", "2026.12.08", "2026.12.15", "2026.12.22"


@pytest.fixture
def fleet(tmp_path):
    """The CA registry with n1..n3 at site s1, all tagged `aurora`; n9 at s1 untagged."""
    ca = tmp_path / "ca"
    assert walkway("provision", "ca", "init", "--ca-dir", str(ca)).returncode == 0
    for node in ("n1", "n2", "n3", "n9"):
        tags = ["--tag", "aurora"] if node != "n9" else []
        r = walkway("provision", "node", "--ca-dir", str(ca), "--site", "s1", "--node", node,
                    "--out", str(tmp_path / "creds" / node), *tags)
        assert r.returncode == 0, r.stderr
    return ca


def _publish(broker, ca, key, pkg, *to, extra=()):
    targets = [a for t in to for a in ("--to", t)]
    return walkway("fleet", "publish-content", str(pkg), *targets, "--key", str(key),
                   "--ca-dir", str(ca), "--broker", broker.url, "--chunk", SMALL, *extra)


def _raw_publish(broker, topic, payload):
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="attacker", protocol=mqtt.MQTTv5)
    host, port = broker.url.removeprefix("mqtt://").split(":")
    c.connect(host, int(port))
    c.loop_start()
    c.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()


def _retained_chunks(broker) -> set[str]:
    pub = Publisher(broker.url, "test-chunks")
    found: set[str] = set()
    try:
        pub.retained(["walkway/v1/+/content/+/+"],
                     lambda t, p: found.add(t.split("/")[4]) if p else None)
    finally:
        pub.close()
    return found


@pytest.mark.slow
def test_canary_then_all_offline_catches_up_refusals_and_rollbacks(broker, tmp_path, fleet):
    city = create_content_key(tmp_path / "key")
    v1, v2, v3 = (package(tmp_path, city.private, v) for v in (V1, V2, V3))
    assert len(pack(v1)) > 3 * int(SMALL)  # several chunks, so reassembly is exercised
    signs = {n: Sign(tmp_path, broker.url, n, city.public).start() for n in ("n1", "n2", "n3")}
    try:
        for s in signs.values():
            wait_for(s.subscribed, TIMEOUT, f"{s.node}'s pointer subscription")

        # v1 to the tag group: each bridge fetches and installs it by itself.
        r = _publish(broker, fleet, city.private, v1, "tag:aurora")
        assert r.returncode == 0, r.stderr
        assert "to 3 sign(s): s1/n1, s1/n2, s1/n3" in r.stdout  # n9 has no tag
        for s in signs.values():
            wait_for(lambda s=s: s.version() == V1, TIMEOUT, f"{s.node} installs v1")

        # v2 to the group with a canary while n3 is offline: n1 first (34% of 3 signs,
        # sorted), its report, then the rest; n3 catches up when it returns.
        signs["n3"].stop()
        r = _publish(broker, fleet, city.private, v2, "tag:aurora",
                     extra=("--canary", "34%", "--wait", str(TIMEOUT)))
        assert r.returncode == 0, r.stdout + r.stderr
        out = r.stdout
        assert "to 1 sign(s): s1/n1; 2 left for after the canary" in out
        assert "canary: s1/n1 installed" in out
        assert out.index("canary: s1/n1") < out.index("to the other 2 sign(s): s1/n2, s1/n3")
        wait_for(lambda: signs["n2"].version() == V2, TIMEOUT, "n2 installs v2")
        assert signs["n1"].version() == V2 and signs["n3"].version() == V1
        signs["n3"].start()
        wait_for(lambda: signs["n3"].version() == V2, TIMEOUT, "n3 catches up with v2")

        # The old package stays on the broker (every pointer's `previous`), older ones go.
        v1_sha, v2_sha = (package_ref(manifest(p), pack(p))["sha256"] for p in (v1, v2))
        assert _retained_chunks(broker) == {v1_sha, v2_sha}

        # A tampered chunk: n1 refuses the package with one line; v2 keeps playing.
        key = load_private_key(city.private)
        pub = Publisher(broker.url, "test-publisher")
        try:
            before = current_pointers(pub)[("s1", "n1")]
            archive = pack(v3)
            ref = package_ref(manifest(v3), archive, int(SMALL))
            publish_chunks(pub, {"s1"}, ref, b"\0" * int(SMALL) + archive[int(SMALL):])
            bad = pointer(ref, key, time.time(), to=("s1", "n1"), previous=before)
            publish_pointers(pub, {("s1", "n1"): bad})
            rec = wait_for(lambda: signs["n1"].handled(bad["issued_at"]), TIMEOUT, "n1 refuses")
            assert rec["failure"]["state"] == "refused"
            assert "\n" not in rec["failure"]["reason"]
            assert "sha256 of the received chunks does not match" in rec["failure"]["reason"]
            assert signs["n1"].version() == V2

            # A pointer to n2 copied to n3's topic is refused too (it names its sign).
            copy = pointer(package_ref(manifest(v1), pack(v1)), key, time.time(), to=("s1", "n2"),
                           rollback=True)
            _raw_publish(broker, pointer_topic("s1", "n3"), json.dumps(copy))
        finally:
            pub.close()
        wait_for(lambda: "to: expected s1/n3" in json.dumps(signs["n3"].record()), TIMEOUT,
                 "n3 refuses another sign's pointer")
        assert signs["n3"].version() == V2

        # An unsigned pointer (e.g. from a stolen collector credential) is refused.
        forged = {k: v for k, v in bad.items() if k != "signature"} | {"to": "s1/n2"}
        _raw_publish(broker, pointer_topic("s1", "n2"), json.dumps(forged))
        wait_for(lambda: "unsigned or not signed with the content key"
                 in json.dumps(signs["n2"].record()), TIMEOUT, "n2 refuses the unsigned one")
        assert signs["n2"].version() == V2

        # A rollback by hand: n3 back to v1 (older: only because the pointer says rollback).
        r = _publish(broker, fleet, city.private, v1, "s1/n3", extra=("--rollback",))
        assert r.returncode == 0, r.stderr
        wait_for(lambda: signs["n3"].version() == V1, TIMEOUT, "n3 rolled back to v1")

        # An automatic rollback: v4 is signed inside with another key (an editor's mistake);
        # the canary n1 refuses it and is re-pointed at what it had, the rest never get it.
        other = create_content_key(tmp_path / "other-key")
        v4 = package(tmp_path, other.private, V4)
        r = _publish(broker, fleet, city.private, v4, "tag:aurora",
                     extra=("--canary", "34%", "--wait", str(TIMEOUT)))
        assert r.returncode == 4, r.stdout + r.stderr
        assert "canary: s1/n1 refused: " in r.stdout
        assert "manifest.sig: signature does not match" in r.stdout
        assert f"rolled back s1/n1 to sapporo-centre {V2}" in r.stdout
        assert "other 2 sign(s)" not in r.stdout
        v3_sha, v4_sha = (package_ref(manifest(p), pack(p))["sha256"] for p in (v3, v4))
        assert f"cleared retained chunks no pointer names: s1:{v4_sha[:12]}" in r.stdout
        # v3 stays: the forged pointer on n2's topic still names it (nothing named is cleared)
        assert _retained_chunks(broker) == {v1_sha, v2_sha, v3_sha}
        wait_for(lambda: (signs["n1"].record().get("handled") or {}).get("sha256") == v2_sha,
                 TIMEOUT, "n1 confirms the rollback")
        assert signs["n1"].version() == V2

        # content-status: per sign what it plays, since when, and its last failure.
        r = walkway("fleet", "content-status", "--broker", broker.url, "--json")
        assert r.returncode == 0, r.stderr
        rows = {row["node"]: row for row in map(json.loads, r.stdout.splitlines())}
        assert {n: rows[n]["state"]["installed"]["version"] for n in signs} == {
            "n1": V2, "n2": V2, "n3": V1}
        assert rows["n1"]["published"]["rollback"] is True
        assert rows["n1"]["state"]["failure"]["state"] == "refused"
        assert "unsigned" in rows["n2"]["state"]["failure"]["reason"]
        table = walkway("fleet", "content-status", "--broker", broker.url).stdout
        n1_line = next(line for line in table.splitlines() if line.startswith("s1/n1"))
        assert f"sapporo-centre {V2} (unconfirmed)" in n1_line and "refused" in n1_line

        # A replay of an old, genuinely signed pointer (v3's) is refused as one.
        _raw_publish(broker, pointer_topic("s1", "n1"), json.dumps(bad))
        wait_for(lambda: "a replay; refused" in json.dumps(signs["n1"].record()), TIMEOUT,
                 "n1 refuses the replay")
        assert signs["n1"].version() == V2
    finally:
        for s in signs.values():
            s.stop()
