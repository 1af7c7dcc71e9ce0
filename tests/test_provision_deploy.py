"""balenaOS deployment files: three services, HEALTHCHECKs, no systemd; and the health
check itself, run against a real broker with generated certificates."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from test_provision_broker import Fleet

ROOT = Path(__file__).resolve().parents[1]
BALENA = ROOT / "deploy" / "balena"
SERVICES = ("edge", "bridge", "signage")


def healthcheck(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BALENA / "healthcheck.py"), *argv],
                          capture_output=True, text=True, timeout=30)


def test_compose_builds_each_service_from_its_dockerfile_template():
    compose = (BALENA / "docker-compose.yml").read_text()
    for service in SERVICES:
        assert re.search(rf"^  {service}:\n    build:\n", compose, re.M), service
        assert f"dockerfile: {service}/Dockerfile.template" in compose
        assert "restart: always" in compose
    assert "walkway-data:/data" in compose


def test_dockerfiles_have_healthchecks_and_no_systemd():
    for service in SERVICES:
        text = (BALENA / service / "Dockerfile.template").read_text()
        assert "%%BALENA_MACHINE_NAME%%" in text
        assert re.search(rf"^HEALTHCHECK .*\n.*walkway-healthcheck\", \"{service}\"", text, re.M)
        assert "COPY healthcheck.py" in text
    for path in BALENA.rglob("*"):
        if path.is_file():
            lowered = path.read_text().lower()
            assert "systemctl" not in lowered and "/sbin/init" not in lowered, path


def test_bridge_healthcheck_does_a_tls_handshake_with_the_node_certificate(tmp_path, capsys):
    fleet = Fleet(tmp_path, capsys)
    try:
        config = tmp_path / "n1" / "node.toml"
        text = config.read_text().replace("mqtts://localhost:8883",
                                          f"mqtts://localhost:{fleet.port}")
        config.write_text(text)
        ok = healthcheck("bridge", "--config", str(config))
        assert ok.returncode == 0, ok.stderr
        fleet.mosquitto.stop()
        down = healthcheck("bridge", "--config", str(config))
        assert down.returncode == 1 and "ConnectionRefusedError" in down.stderr
        assert "PRIVATE KEY" not in ok.stderr + down.stderr
    finally:
        fleet.close()


def test_edge_healthcheck_wants_a_recent_store_write(tmp_path):
    store = tmp_path / "store.sqlite"
    config = tmp_path / "node.toml"
    config.write_text(f'[store]\npath = "{store.name}"\n')
    missing = healthcheck("edge", "--config", str(config))
    assert missing.returncode == 1 and "no store yet" in missing.stderr
    store.write_bytes(b"x")
    assert healthcheck("edge", "--config", str(config)).returncode == 0
    old = time.time() - 3600
    os.utime(store, (old, old))
    stale = healthcheck("edge", "--config", str(config))
    assert stale.returncode == 1 and "last write" in stale.stderr


def test_each_container_runs_an_existing_walkway_command():
    from walkway.cli import build_parser

    parser = build_parser()
    for service in SERVICES:
        text = (BALENA / service / "Dockerfile.template").read_text()
        command = re.search(r'exec walkway ([a-z -]+) --config', text).group(1).split()
        args = parser.parse_args([*command, "--config", "/data/walkway/node.toml"])
        assert callable(args.handler), service


def test_each_container_installs_the_tested_wheel_with_its_roles_extras():
    """The images install the wheel tests/test_wheel.py tests, with only their role's extras:
    the bridge carries neither OpenCV nor pygame."""
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    want = {"edge": {"camera", "ble", "serial"}, "bridge": set(), "signage": {"signage"}}
    for service in SERVICES:
        text = (BALENA / service / "Dockerfile.template").read_text()
        found = re.search(r'pip install --no-cache-dir "\$\(ls /tmp/dist/walkway-\*\.whl\)'
                          r'(?:\[([a-z,]+)\])?"', text)
        assert found, service
        chosen = set(filter(None, (found.group(1) or "").split(",")))
        assert chosen == want[service] and chosen <= set(extras), service
