"""The crew's CLI on a node (`walkway status`, `selftest`, `outbox`, `sensors watch`,
`install-systemd`) against a real edge process, store and broker; the systemd units pass
`systemd-analyze verify`; the docs show the real output."""

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from support.walkway_procs import ROOT, WalkwayProcess, run_walkway, wait_for

from edge.store import Store
from edge.systemd_install import NODE_UNITS, verify
from walkway.cli import main
from walkway.records import Batch, Observation
from walkway.signage_state.player import write_heartbeat
from walkway.timeutil import iso_z

DOCS = (ROOT / "docs" / "operations.md").read_text()


def make_node(root: Path, broker_url: str) -> Path:
    now = time.time()
    rows = [f"{iso_z(now - 200 + i * 20)},gate.main,{('in', 'out')[i % 2]},{i + 1}"
            for i in range(8)]
    (root / "counts.csv").write_text("time,sensor,direction,count\n" + "\n".join(rows) + "\n")
    config = root / "node.toml"
    config.write_text(f"""[node]
id = "chikaho-n1"
site = "sapporo"
[store]
path = "edge.db"
[mqtt]
url = "{broker_url}"
[signage]
state_dir = "signage"
[[sources]]
type = "replay"
name = "gate"
path = "counts.csv"
""")
    return config


def walkway_json(*args: str) -> dict:
    return json.loads(run_walkway(*args, "--json").stdout)


def in_process(capsys, *args: str) -> tuple[int, str]:
    """`walkway ARGS` in this process (a subprocess costs ~0.4 s of imports)."""
    code = main(list(args))
    return code, capsys.readouterr().out


def test_status_and_selftest_on_a_running_node(tmp_path: Path, broker) -> None:
    config = make_node(tmp_path, broker.url)
    write_heartbeat(tmp_path / "signage", state="ok", now=time.time(), frames=10,
                    scene="events")
    edge = WalkwayProcess(["edge", "run", "--config", str(config)], tmp_path / "edge.log")
    edge.start()
    try:
        status = wait_for(lambda: (s := walkway_json("status", "--config", str(config)))
                          ["sources"][0]["state"] == "idle" and s, 60, "the replay done")
        # Seen once on a loaded machine (not reproduced): "down" with the source "idle" means
        # the edge wrote stopped=true, i.e. it got SIGTERM/SIGINT; its log says from when.
        assert status["node"] == "chikaho-n1" and status["edge"]["state"] == "up", (
            status["edge"], (tmp_path / "edge.log").read_text()[-2000:])
        assert status["bridge"]["state"] == "down"
        assert {(c["direction"], c["last_5_min"]) for c in status["counts"]} == {
            ("in", 1 + 3 + 5 + 7), ("out", 2 + 4 + 6 + 8)}
        assert status["signage"]["state"] == "ok"
        people = run_walkway("status", "--config", str(config)).stdout
        assert "node chikaho-n1 (site sapporo)" in people
        assert re.search(r"gate\s+│\s+replay\s+│\s+idle", people), people
        assert re.search(r"gate\.main\s+│\s+in\s+│\s+16", people), people

        result = run_walkway("selftest", "--config", str(config), check=False)
        lines = result.stdout.splitlines()
        for name in ("config", "store", "disk", "edge", "broker", "signage"):
            assert any(re.match(rf"PASS {name}\b", x) for x in lines), result.stdout
        assert any(re.match(r"SKIP camera\s+no camera source configured", x) for x in lines)
        assert result.returncode == (1 if any(x.startswith("FAIL") for x in lines) else 0)
        assert lines[-1].startswith("selftest: ")
    finally:
        edge.terminate()
    broker.stop()  # no edge, no broker: both FAIL, exit status 1
    result = run_walkway("selftest", "--config", str(config), "--timeout", "1", check=False)
    assert result.returncode == 1
    assert re.search(r"^FAIL edge\s+not running", result.stdout, re.M)
    assert re.search(r"^FAIL broker\s+127\.0\.0\.1:\d+: .*refused", result.stdout, re.M)
    as_json = json.loads(run_walkway("selftest", "--config", str(config), "--json",
                                     "--timeout", "1", check=False).stdout)
    assert as_json["ok"] is False and {"name", "status", "detail"} <= set(as_json["checks"][0])


def test_outbox_resend_and_sensors_watch(tmp_path: Path, capsys) -> None:
    config = str(make_node(tmp_path, "mqtt://127.0.0.1:1"))
    store = Store(tmp_path / "edge.db", node="chikaho-n1")
    t0 = 1_768_201_200  # 2026-01-12T07:00:00Z
    store.commit_batch("gate", Batch([Observation(t0 + 5, "gate.main", "in", 3)],
                                     watermark=t0 + 600))
    store.mark_delivered([(b.id, b.version) for b in store.claim(10)])
    store.close()
    out = json.loads(in_process(capsys, "outbox", "--config", config, "--json")[1])
    assert out["outbox_depth"] == 0 and out["delivered"] == 1
    resent = json.loads(in_process(capsys, "outbox", "--config", config, "--json",
                                   "--resend-since", "2026-01-12T06:59:00Z")[1])
    assert resent["resent"] == 1 and resent["outbox_depth"] == 1
    people = in_process(capsys, "outbox", "--config", config)[1]
    assert people.startswith("outbox: 1 unsent bins, oldest 2026-01-12T07:00:00Z")

    code, frames = in_process(capsys, "sensors", "watch", "--config", config, "--json",
                              "--count", "2", "--interval", "0.05")
    lines = frames.splitlines()
    assert code == 0 and len(lines) == 2
    assert json.loads(lines[0])["sources"][0]["name"] == "gate"
    table = in_process(capsys, "sensors", "watch", "--config", config, "--count", "1")[1]
    assert "live counts" in table and "sources: gate stalled" in table


def test_install_systemd_writes_units_that_verify(tmp_path: Path) -> None:
    report = walkway_json("install-systemd", "--root", str(tmp_path), "--config",
                          "/srv/walkway/node.toml")
    unit_dir = tmp_path / "etc/systemd/system"
    for unit in NODE_UNITS:
        text = (unit_dir / unit).read_text()
        for directive in ("Type=notify", "WatchdogSec=", "Restart=on-failure",
                          "StartLimitIntervalSec=", "StartLimitBurst=", "ProtectSystem=strict",
                          "NoNewPrivileges=yes", "MemoryMax=", "StateDirectory=walkway",
                          "User=walkway", "--config /srv/walkway/node.toml"):
            assert directive in text, (unit, directive)
        assert "ExecStart=/usr/local/bin/walkway" not in text
    edge = (unit_dir / "walkway-edge.service").read_text()
    assert "SupplementaryGroups=dialout video bluetooth" in edge
    assert "\nPrivateDevices=" not in edge
    assert (tmp_path / "etc/sysusers.d/walkway.conf").exists()
    assert (tmp_path / "etc/polkit-1/rules.d/50-walkway.rules").exists()
    collector = walkway_json("install-systemd", "--root", str(tmp_path), "--collector",
                             "--broker", "mqtts://mqtt.example:8883")
    assert "--broker mqtts://mqtt.example:8883" in (
        unit_dir / "walkway-collector.service").read_text()
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    assert report["verified"] is True and collector["verified"] is True, report
    # The check is real: a unit with a mistake fails it.
    bad = tmp_path / "walkway-bad.service"
    bad.write_text(edge.replace("Type=notify", "Type=notifyy"))
    ok, problems = verify([bad])
    assert not ok and "notifyy" in problems


def sample(heading: str) -> list[str]:
    """The lines of the ```text block following `heading` in docs/operations.md."""
    block = DOCS.split(heading, 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    return block.splitlines()


def test_docs_show_real_status_and_selftest_output(tmp_path: Path, capsys) -> None:
    config = str(make_node(tmp_path, "mqtt://127.0.0.1:1"))
    status = in_process(capsys, "status", "--config", config)[1].splitlines()
    labels = {x.split(":")[0] for x in status if re.match(r"^[a-z]+: ", x)}
    documented = sample("### `walkway status`")
    assert labels == {x.split(":")[0] for x in documented if re.match(r"^[a-z]+: ", x)}
    assert documented[0].startswith("node ") and status[0].startswith("node ")
    selftest = in_process(capsys, "selftest", "--config", config, "--timeout", "0.5")[1]
    names = {x.split()[1] for x in selftest.splitlines()[:-1]}
    shown = sample("### `walkway selftest`")
    assert all(x.split()[0] in ("PASS", "FAIL", "SKIP") for x in shown[:-1])
    assert names <= {x.split()[1] for x in shown[:-1]}
    assert shown[-1].startswith("selftest: ")
