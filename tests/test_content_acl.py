"""Content distribution under the real generated broker config (TLS, and the acl_file or
dynamic-security rules `walkway provision broker` writes): a sign's own bridge fetches and
installs its site's package over mqtts://, and a sign can read only its own site's chunks
and its own pointer, never another site's, and can publish neither."""

import json

import pytest
from content_fixtures import SMALL, Sign, manifest, package
from support.walkway_procs import wait_for
from test_provision_broker import TIMEOUT, Fleet, connected
from test_provision_broker import fleet as fleet  # noqa: F401 - the fixture, parametrized

from cloud_bridge.content_dist import (
    Publisher,
    chunk_topic,
    content_status,
    pack,
    package_ref,
    pointer,
    pointer_topic,
    publish_chunks,
    publish_pointers,
)
from cloud_bridge.tls import tls_context_from_files
from provisioning.content_key import create_content_key
from provisioning.signing import load_private_key

BOTH = pytest.mark.parametrize("fleet", ["file", "dynsec"], indirect=True)


def _collector(fleet: Fleet) -> Publisher:
    d = fleet.root / "collector"
    tls = tls_context_from_files(d / "ca.pem", d / "node.pem", d / "node.key")
    return Publisher(f"mqtts://localhost:{fleet.port}", "walkway.collector", tls)


def _tls_sign(fleet: Fleet, public_key) -> Sign:
    """n1's bridge with the config `walkway provision node` generated, plus a sign."""
    sign = Sign(fleet.root / "signs", f"mqtts://localhost:{fleet.port}", "n1", public_key)
    generated = (fleet.root / "n1" / "node.toml").read_text()
    creds = fleet.root / "n1"
    tls = "\n".join(line.replace('= "', f'= "{creds}/') if line.startswith(
        ("ca_file", "cert_file", "key_file", "public_key")) else line
        for line in generated.splitlines())
    ours = sign.config.read_text()
    mqtt_and_rest = ours[ours.index("[health]"):]
    sign.config.write_text(tls.replace("mqtts://localhost:8883", f"mqtts://localhost:{fleet.port}")
                           .replace("/data/walkway/store.sqlite", "edge.db")
                           + "\n" + mqtt_and_rest)
    return sign


@BOTH
def test_sign_fetches_over_tls_and_reads_only_its_own_sites_content(fleet: Fleet, tmp_path):
    city = create_content_key(tmp_path / "key")
    v1 = package(tmp_path, city.private, "2026.12.01")
    archive = pack(v1)
    ref = package_ref(manifest(v1), archive, int(SMALL))
    key = load_private_key(city.private)
    pub = _collector(fleet)
    sign = _tls_sign(fleet, city.public)
    try:
        publish_chunks(pub, {"s1", "s2"}, ref, archive)
        n2_ptr = pointer(ref, key, 1.8e9, to=("s2", "n2"))
        publish_pointers(pub, {("s2", "n2"): n2_ptr,
                               ("s1", "n2"): pointer(ref, key, 1.8e9, to=("s1", "n2"))})
        sign.start()
        wait_for(sign.subscribed, TIMEOUT, "n1's pointer subscription over TLS")
        publish_pointers(pub, {("s1", "n1"): pointer(ref, key, 1.8e9, to=("s1", "n1"))})
        wait_for(lambda: sign.version() == "2026.12.01", TIMEOUT, "n1 installs over mqtts://")
        # The collector principal reads the sign's report back (content-status).
        rows = wait_for(lambda: [r for r in content_status(pub)
                                 if r["node"] == "n1" and (r.get("state") or {}).get("state")
                                 == "installed"], TIMEOUT, "n1's report")
        assert rows[0]["state"]["installed"]["sha256"] == ref["sha256"]
    finally:
        sign.stop()  # its client id is its CN: the raw client below would take it over
        pub.close()

    n1 = connected(fleet, "n1")
    foreign = ["walkway/v1/s2/content/#", chunk_topic("s2", ref["sha256"], 0),
               pointer_topic("s2", "n2"), "walkway/v1/s2/+/content", pointer_topic("s1", "n2")]
    for topic in foreign:
        n1.client.subscribe(topic, qos=1)
        reasons = [str(r) for r in n1.subacks.get(timeout=TIMEOUT)]
        # dynsec refuses at SUBSCRIBE; acl_file grants it and drops every delivery (below).
        assert reasons == (["Not authorized"] if fleet.acl == "dynsec" else ["Granted QoS 1"])
    # Its own pointer last: retained messages for the earlier subscriptions were sent first.
    n1.subscribe(pointer_topic("s1", "n1"))
    first = n1.expect(1)
    seen = first + [n1.messages.get() for _ in range(n1.messages.qsize())]
    assert [t for t, _ in seen] == [pointer_topic("s1", "n1")], "n1 read another's content"
    assert json.loads(seen[0][1])["to"] == "s1/n1"
    # Its own site's chunks: readable.
    n1.subscribe(chunk_topic("s1", ref["sha256"], 0))
    assert n1.expect(1) == [(chunk_topic("s1", ref["sha256"], 0), archive[:int(SMALL)])]
    # A sign publishes no content, not even for itself or its own site.
    for topic in (pointer_topic("s1", "n1"), chunk_topic("s1", ref["sha256"], 0),
                  pointer_topic("s2", "n2"), chunk_topic("s2", ref["sha256"], 1)):
        assert n1.publish(topic, b"forged", retain=True) == "Not authorized", topic
