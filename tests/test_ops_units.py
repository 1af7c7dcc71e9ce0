"""Small parts of operations: config sections, TOML writing, system readings, migration 2."""

import sqlite3
import tomllib
from pathlib import Path

from cloud_bridge.downlink.toml_dump import dumps
from edge.config import load_config
from edge.health import clock_sync, cpu_temp_c, memory_mb
from edge.migrations import MIGRATIONS, SCHEMA_VERSION
from edge.store import Store
from walkway.cli import main

BASE = """[node]
id = "n1"
site = "s1"
[store]
path = "edge.db"
[mqtt]
url = "mqtt://127.0.0.1:1883"
"""


def test_health_and_commands_sections(tmp_path: Path, capsys) -> None:
    (tmp_path / "pub.pem").write_text("x")
    good = tmp_path / "good.toml"
    good.write_text(BASE + '[health]\nevery_s = 15\n[commands]\npublic_key = "pub.pem"\n'
                    'apply_restart = ["walkway-edge", "walkway-signage"]\n')
    config = load_config(good)
    assert config.section("health").every_s == 15
    assert config.section("commands").public_key == tmp_path / "pub.pem"
    assert config.section("commands").apply_restart == ("walkway-edge", "walkway-signage")
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE + '[health]\nevery_s = -1\nevry = 3\n[commands]\n'
                   'public_key = "missing.pem"\nservices = ["sshd"]\nrestart_command = []\n')
    assert main(["config", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    for text in ("health.every_s: expected a number >= 0.1 and <= 86400, got -1",
                 "health.evry: unknown key",
                 "commands.public_key: expected an existing file",
                 "commands.services: expected a list of unit names",
                 "commands.restart_command: expected a non-empty list"):
        assert text in err, err


def test_toml_dump_round_trips_a_camera_config() -> None:
    text = BASE + """[[sources]]
type = "camera"
name = "cam1"
roi = [[0.1, 0.2], [0.9, 0.2], [0.5, 0.9]]
loop = true
[[sources.lines]]
name = "main"
points = [0.1, 0.5, 0.9, 0.5]
"in" = "north"
[[sources.lines]]
name = "side"
points = [0, 0, 1, 1]
[signage]
languages = ["ja", "en"]
title = "札幌 \\"walk\\""
"""
    data = tomllib.loads(text)
    assert tomllib.loads(dumps(data)) == data


def test_system_readings(tmp_path: Path) -> None:
    for i, (kind, milli) in enumerate([("gpu-thermal", "71000"), ("cpu-thermal", "48312")]):
        zone = tmp_path / f"thermal_zone{i}"
        zone.mkdir()
        (zone / "type").write_text(kind + "\n")
        (zone / "temp").write_text(milli + "\n")
    assert cpu_temp_c(tmp_path) == 48.3  # the CPU zone, not the hottest
    assert cpu_temp_c(tmp_path / "none") is None
    flag = tmp_path / "synchronized"
    flag.touch()
    assert clock_sync(flag) == {"synced": True, "source": "timesyncd"}
    assert clock_sync(tmp_path / "absent")["source"] in ("kernel", "unknown")
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:        3884096 kB\nMemFree: 1 kB\nMemAvailable:    2048000 kB\n")
    assert memory_mb(meminfo) == {"total_mb": 3793.1, "available_mb": 2000.0}


def test_migration_2_upgrades_a_version_1_store(tmp_path: Path) -> None:
    db = tmp_path / "edge.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(MIGRATIONS[0])
        conn.execute("PRAGMA user_version = 1")
    store = Store(db, node="n1")
    assert store.schema_version() == SCHEMA_VERSION >= 2
    store.set_state("edge", {"pid": 1})
    assert store.get_state("edge")[0] == {"pid": 1}
    store.close()


def test_certificate_expiry_in_selftest_and_status(tmp_path: Path, capsys) -> None:
    import datetime
    import json
    import os

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "n1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=10, hours=1))
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "ca.pem").write_bytes(pem)
    (tmp_path / "node.pem").write_bytes(pem)
    (tmp_path / "node.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    os.chmod(tmp_path / "node.key", 0o600)
    config = tmp_path / "node.toml"
    config.write_text(BASE.replace("mqtt://127.0.0.1:1883", "mqtts://127.0.0.1:1") +
                      '[tls]\nca_file = "ca.pem"\ncert_file = "node.pem"\nkey_file = "node.key"\n')
    assert main(["selftest", "--config", str(config), "--json", "--timeout", "0.5"]) == 1
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["certificate"]["status"] == "FAIL"
    assert "(10 days): renew (walkway provision renew)" in checks["certificate"]["detail"]
    assert main(["status", "--config", str(config), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["certificate"]["days_left"] == 10.0
