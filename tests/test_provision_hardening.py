"""Issue 18 items 3 and 6: a node connecting with another node's client id must not disconnect it.

The generated broker config sets `use_username_as_clientid true`: every connection's
client id becomes its certificate CN (the username, by use_identity_as_username), so a node
can only ever displace its own older connection. Real mosquitto, two node certificates.
Also: a re-run of `provision broker` keeps its choices, packets are bounded, and revoke
takes the serial openssl prints."""

import pytest
from test_provision_broker import BOTH, Fleet, connected, fleet, run  # noqa: F401 - fixture

from walkway.cli import main

VICTIM_ID = "walkway-s1-n1-bridge"  # what n1's bridge asks for: predictable
DELIVERED = ("Success", "No matching subscribers")  # PUBACK reasons of an accepted publish


@BOTH
def test_another_nodes_client_id_does_not_take_over(fleet: Fleet) -> None:  # noqa: F811
    conf = (fleet.broker_dir / "mosquitto.conf").read_text().splitlines()
    assert "use_username_as_clientid true" in conf
    victim = connected(fleet, "n1", VICTIM_ID)
    victim.subscribe("walkway/v1/s1/n1/cmd")
    collector = connected(fleet, "collector")
    for attempt in range(3):
        attacker = connected(fleet, "n2", VICTIM_ID)  # n2's certificate, n1's client id
        assert attacker.publish("walkway/v1/s2/n2/counts", b"x") in DELIVERED
        # n1 is still connected: its subscription still delivers, its publishes go through.
        collector.publish("walkway/v1/s1/n1/cmd", f"still here {attempt}".encode())
        assert victim.expect(1) == [("walkway/v1/s1/n1/cmd", f"still here {attempt}".encode())]
        assert victim.publish("walkway/v1/s1/n1/counts", b"y") in DELIVERED
        attacker.client.disconnect()
        attacker.client.loop_stop()
    assert victim._connack.empty(), "n1 saw a disconnect"
    assert "as n2 " in fleet.log() and "as walkway-s1-n1-bridge" not in fleet.log()


@pytest.mark.parametrize("fleet", ["file"], indirect=True)
def test_a_node_reconnecting_replaces_only_itself(fleet: Fleet) -> None:  # noqa: F811
    first = connected(fleet, "n1", "anything")
    second = connected(fleet, "n1", "something-else")  # same certificate: same client id
    assert first._connack.get(timeout=5).startswith("closed")
    assert second.publish("walkway/v1/s1/n1/counts", b"z") in DELIVERED


def _conf_lines(broker_dir) -> list[str]:
    return [line for line in (broker_dir / "mosquitto.conf").read_text().splitlines()
            if not line.startswith("#")]


@pytest.mark.parametrize("fleet", ["dynsec"], indirect=True)
def test_rerun_without_flags_keeps_the_original_choices(fleet: Fleet, capsys) -> None:  # noqa: F811
    before = _conf_lines(fleet.broker_dir)
    assert f"listener {fleet.port} 127.0.0.1" in before and any(
        line.startswith("plugin ") for line in before)
    ca = ["--ca-dir", str(fleet.ca), "--out", str(fleet.broker_dir)]
    out = run(capsys, "provision", "broker", *ca)  # the monthly CRL refresh, flags forgotten
    assert "kept this directory's hosts, port, bind" in out and "acl" in out
    assert _conf_lines(fleet.broker_dir) == before
    (fleet.broker_dir / "broker.json").unlink()  # a directory from before broker.json
    run(capsys, "provision", "broker", *ca)
    assert _conf_lines(fleet.broker_dir) == before
    run(capsys, "provision", "broker", *ca, "--port", "18999")  # a flag still changes it
    assert "listener 18999 127.0.0.1" in _conf_lines(fleet.broker_dir)


def test_oversized_packets_are_refused(fleet: Fleet) -> None:  # noqa: F811
    from provisioning.broker import MAX_PACKET_BYTES

    assert f"max_packet_size {MAX_PACKET_BYTES}" in _conf_lines(fleet.broker_dir)
    n1 = connected(fleet, "n1")
    assert n1.publish("walkway/v1/s1/n1/counts", b"x" * 250_000) in DELIVERED
    info = n1.client.publish("walkway/v1/s1/n1/counts", b"x" * (MAX_PACKET_BYTES + 1), qos=1)
    assert n1._connack.get(timeout=5).startswith("closed")  # the broker cut the client off
    assert not info.is_published()


def test_revoke_accepts_openssls_serial(fleet: Fleet, capsys) -> None:  # noqa: F811
    import shutil
    import subprocess

    from cryptography import x509

    pem = fleet.root / "n2" / "node.pem"
    if shutil.which("openssl"):
        printed = subprocess.run(["openssl", "x509", "-serial", "-noout", "-in", str(pem)],
                                 capture_output=True, text=True, check=True).stdout.strip()
    else:
        number = x509.load_pem_x509_certificate(pem.read_bytes()).serial_number
        printed = f"serial={number:040X}"
    padded = printed.removeprefix("serial=").rjust(40, "0")
    out = run(capsys, "provision", "revoke", "--ca-dir", str(fleet.ca), "--serial", padded)
    assert "revoked" in out
    assert main(["provision", "revoke", "--ca-dir", str(fleet.ca), "--serial", "xyz"]) == 2
    assert "--serial: expected a hex certificate serial" in capsys.readouterr().err


@BOTH
def test_collector_may_clear_a_retained_node_message(fleet: Fleet) -> None:  # noqa: F811
    n1 = connected(fleet, "n1")
    assert n1.publish("walkway/v1/s1/n1/counts", b"poison", retain=True) in DELIVERED
    collector = connected(fleet, "collector")
    collector.subscribe("walkway/v1/+/+/counts")
    assert collector.expect(1) == [("walkway/v1/s1/n1/counts", b"poison")]
    assert collector.publish("walkway/v1/s1/n1/counts", b"", retain=True) in DELIVERED
    n2 = connected(fleet, "n2")  # a node still cannot clear (or write) another's topic
    assert n2.publish("walkway/v1/s1/n1/health", b"", retain=True) == "Not authorized"
    late = connected(fleet, "collector")  # replaces the first collector connection (same CN)
    late.subscribe("walkway/v1/+/+/counts")
    n1.publish("walkway/v1/s1/n1/counts", b"sentinel")
    assert late.expect(1) == [("walkway/v1/s1/n1/counts", b"sentinel")]  # no retained first
