"""The fleet CA and node directories: files, modes, certificates, config, renew, revoke,
and no key material in any command's output or logs."""

import datetime as dt
import json
import logging
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from edge.config import load_config
from provisioning.node_tls import NodeTls, client_tls_context
from walkway.cli import main
from walkway.errors import ConfigError, WalkwayError

ROOT = Path(__file__).resolve().parents[1]
PASSPHRASE = "correct horse battery staple"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def cli(capsys, caplog):
    """Run `walkway ARGS`; return (status, output). Every run is checked for secrets."""
    caplog.set_level(logging.DEBUG)

    def run(*argv: str) -> tuple[int, str]:
        status = main(["-v", *argv])
        out, err = capsys.readouterr()
        text = out + err + caplog.text
        for secret in ("PRIVATE KEY", "BEGIN", PASSPHRASE):
            assert secret not in text, f"{secret!r} leaked by walkway {' '.join(argv)}"
        return status, text

    return run


@pytest.fixture
def ca_dir(tmp_path: Path, cli) -> Path:
    ca = tmp_path / "ca"
    assert cli("provision", "ca", "init", "--ca-dir", str(ca))[0] == 0
    return ca


def cert_of(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_ca_init_makes_private_files_and_refuses_to_replace_a_ca(ca_dir: Path, cli):
    assert mode(ca_dir) == 0o700
    for name in ("ca.key", "command_signing.key", "registry.json"):
        assert mode(ca_dir / name) == 0o600, name
    ca = cert_of(ca_dir / "ca.pem")
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    before = (ca_dir / "ca.key").read_bytes()
    status, out = cli("provision", "ca", "init", "--ca-dir", str(ca_dir))
    assert status == 2 and "refusing to replace" in out
    assert (ca_dir / "ca.key").read_bytes() == before


def test_node_directory_holds_key_cert_ca_and_a_loadable_config(ca_dir, tmp_path, cli):
    out = tmp_path / "nodes" / "n1"
    status, text = cli("provision", "node", "--ca-dir", str(ca_dir), "--site", "chikaho",
                       "--node", "n1", "--out", str(out), "--broker-url",
                       "mqtts://mqtt.walkway.example:8883")
    assert status == 0 and "n1" in text
    assert mode(out) == 0o700 and mode(out / "node.key") == 0o600
    assert sorted(p.name for p in out.iterdir()) == [
        "ca.pem", "command_signing.pub.pem", "node.key", "node.pem", "node.toml"]
    cert, ca = cert_of(out / "node.pem"), cert_of(ca_dir / "ca.pem")
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "n1"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == (
        "chikaho")
    life = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(days=29) < life < dt.timedelta(days=31)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]

    config = load_config(out / "node.toml")
    assert (config.node.id, config.node.site) == ("n1", "chikaho")
    assert config.mqtt.tls and config.mqtt.port == 8883
    tls = config.section("tls")
    assert tls == NodeTls(out / "ca.pem", out / "node.pem", out / "node.key")
    context = client_tls_context(tls)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    # Signed commands only, from the first boot (cloud_bridge.downlink.commands_config reads this).
    assert config.section("commands").public_key == out / "command_signing.pub.pem"


def test_tls_section_problems_are_reported_together(ca_dir, tmp_path, cli):
    out = tmp_path / "n1"
    cli("provision", "node", "--ca-dir", str(ca_dir), "--site", "s1", "--node", "n1",
        "--out", str(out))
    (out / "node.key").chmod(0o644)
    text = (out / "node.toml").read_text().replace('ca_file = "ca.pem"', 'ca_file = "gone.pem"')
    text = text.replace('key_file = "node.key"', 'key_file = "node.key"\ncipher = "weak"')
    (out / "node.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(out / "node.toml")
    problems = "\n".join(caught.value.problems)
    assert "tls.ca_file: expected an existing file" in problems
    assert "tls.key_file: expected a file only its owner can read" in problems
    assert "tls.cipher: unknown key" in problems


def test_tls_context_refuses_a_key_that_does_not_match(ca_dir, tmp_path, cli):
    for node in ("n1", "n2"):
        cli("provision", "node", "--ca-dir", str(ca_dir), "--site", "s1", "--node", node,
            "--out", str(tmp_path / node))
    mixed = NodeTls(tmp_path / "n1/ca.pem", tmp_path / "n1/node.pem", tmp_path / "n2/node.key")
    with pytest.raises(WalkwayError, match="tls.cert_file/tls.key_file") as caught:
        client_tls_context(mixed)
    assert "PRIVATE" not in str(caught.value)


def test_a_cn_is_one_broker_identity(ca_dir, tmp_path, cli):
    cli("provision", "node", "--ca-dir", str(ca_dir), "--site", "s1", "--node", "n1",
        "--out", str(tmp_path / "a"))
    status, text = cli("provision", "node", "--ca-dir", str(ca_dir), "--site", "s2",
                       "--node", "n1", "--out", str(tmp_path / "b"))
    assert status == 2 and "already issued" in text
    status, text = cli("provision", "node", "--ca-dir", str(ca_dir), "--site", "s1",
                       "--node", "n1", "--out", str(tmp_path / "a"))
    assert status == 2 and "provision renew" in text
    status, text = cli("provision", "node", "--ca-dir", str(ca_dir), "--site", "s1",
                       "--node", "Bad_Id", "--out", str(tmp_path / "c"))
    assert status == 2 and "--node" in text


def test_renew_rekeys_when_due(ca_dir, tmp_path, cli):
    out = tmp_path / "n1"
    cli("provision", "node", "--ca-dir", str(ca_dir), "--site", "s1", "--node", "n1",
        "--out", str(out), "--days", "5")
    old_key, old_cert = (out / "node.key").read_bytes(), cert_of(out / "node.pem")
    status, text = cli("provision", "renew", "--ca-dir", str(ca_dir), "--out", str(out))
    assert status == 0 and "new key" in text  # 5 days left < --before 10
    new_cert = cert_of(out / "node.pem")
    assert new_cert.serial_number != old_cert.serial_number
    assert (out / "node.key").read_bytes() != old_key and mode(out / "node.key") == 0o600
    assert new_cert.subject == old_cert.subject
    assert new_cert.not_valid_after_utc - old_cert.not_valid_after_utc > dt.timedelta(days=20)
    status, text = cli("provision", "renew", "--ca-dir", str(ca_dir), "--out", str(out))
    assert status == 0 and "not due" in text


def test_revoke_writes_a_crl_and_list_shows_state(ca_dir, tmp_path, cli):
    cli("provision", "node", "--ca-dir", str(ca_dir), "--site", "s1", "--node", "n1",
        "--out", str(tmp_path / "n1"))
    serial = cert_of(tmp_path / "n1" / "node.pem").serial_number
    status, _ = cli("provision", "revoke", "--ca-dir", str(ca_dir), "--node", "n1")
    assert status == 0
    crl = x509.load_pem_x509_crl((ca_dir / "crl.pem").read_bytes())
    assert crl.is_signature_valid(cert_of(ca_dir / "ca.pem").public_key())
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    assert crl.next_update_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=29)
    status, text = cli("provision", "list", "--ca-dir", str(ca_dir))
    assert status == 0 and f"{serial:x}" in text and "revoked" in text
    status, text = cli("provision", "revoke", "--ca-dir", str(ca_dir), "--node", "n1")
    assert status == 2 and "no unrevoked certificate" in text
    # The CN is free again for a replacement device.
    status, _ = cli("provision", "node", "--ca-dir", str(ca_dir), "--site", "s1", "--node",
                    "n1", "--out", str(tmp_path / "n1-new"))
    assert status == 0


def test_ca_key_can_be_encrypted_with_a_passphrase(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("WALKWAY_CA_PASSPHRASE", PASSPHRASE)
    ca = tmp_path / "ca"
    assert cli("provision", "ca", "init", "--ca-dir", str(ca))[0] == 0
    assert b"ENCRYPTED PRIVATE KEY" in (ca / "ca.key").read_bytes()
    args = ("provision", "node", "--ca-dir", str(ca), "--site", "s1", "--node", "n1")
    assert cli(*args, "--out", str(tmp_path / "n1"))[0] == 0
    monkeypatch.delenv("WALKWAY_CA_PASSPHRASE")
    status, text = cli(*args[:-1], "n2", "--out", str(tmp_path / "n2"))
    assert status == 2 and "WALKWAY_CA_PASSPHRASE" in text


def test_missing_ca_is_a_one_line_error(tmp_path, cli):
    status, text = cli("provision", "node", "--ca-dir", str(tmp_path / "none"), "--site", "s1",
                       "--node", "n1", "--out", str(tmp_path / "n1"))
    assert status == 2 and "walkway provision ca init" in text
    assert not (tmp_path / "n1").exists()


def test_cli_module_is_cheap_to_import():
    code = (
        "import sys, provisioning.cli, provisioning.node_tls, provisioning.signing;"
        "heavy = {'cryptography', 'balena', 'requests'} & set(sys.modules);"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_names_that_could_rewrite_the_acl_are_refused(ca_dir, tmp_path, cli):
    status, text = cli("provision", "collector", "--ca-dir", str(ca_dir), "--out",
                       str(tmp_path / "c"), "--name", "x\ntopic readwrite #")
    assert status == 2 and "--name: expected a CN" in text
    # A hand-edited registry cannot smuggle rules into the ACL either.
    registry = ca_dir / "registry.json"
    data = json.loads(registry.read_text())
    data["certificates"].append({
        "serial": "1", "cn": "evil\ntopic readwrite #", "kind": "collector", "site": None,
        "not_after": "2999-01-01T00:00:00+00:00", "revoked_at": None})
    registry.write_text(json.dumps(data))
    status, text = cli("provision", "broker", "--ca-dir", str(ca_dir), "--out",
                       str(tmp_path / "broker"))
    assert status == 2 and "CA registry: expected names" in text
    assert not (tmp_path / "broker").exists()


def test_dynsec_broker_config_keeps_its_share_group_across_revocations(ca_dir, tmp_path, cli):
    cli("provision", "node", "--ca-dir", str(ca_dir), "--site", "s1", "--node", "n1",
        "--out", str(tmp_path / "n1"))
    broker = tmp_path / "broker"
    status, _ = cli("provision", "broker", "--ca-dir", str(ca_dir), "--out", str(broker),
                    "--acl", "dynsec", "--dynsec-plugin", "/opt/mosq/dynsec.so",
                    "--share-group", "g-7f3a")
    assert status == 0
    conf = (broker / "mosquitto.conf").read_text().splitlines()
    assert "plugin /opt/mosq/dynsec.so" in conf
    assert f"plugin_opt_config_file {broker.resolve()}/dynamic-security.json" in conf
    assert not any(line.startswith("acl_file") for line in conf)

    def share_topics() -> set[str]:
        rules = json.loads((broker / "dynamic-security.json").read_text())
        return {a["topic"].split("/")[1] for r in rules["roles"] for a in r["acls"]
                if a["topic"].startswith("$share/")}

    assert share_topics() == {"g-7f3a"}
    cli("provision", "revoke", "--ca-dir", str(ca_dir), "--node", "n1", "--broker-dir",
        str(broker))
    assert share_topics() == {"g-7f3a"}
    rules = json.loads((broker / "dynamic-security.json").read_text())
    assert [c["username"] for c in rules["clients"]] == []
    assert rules["defaultACLAccess"] == {"publishClientSend": False,
                                         "publishClientReceive": False,
                                         "subscribe": False, "unsubscribe": True}
