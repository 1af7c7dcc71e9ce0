"""The wheel we ship is the one we test: build it, install it into a clean venv outside the
checkout (no system site-packages, no PYTHONPATH, working directory elsewhere), and run a
node from there: config validate, a replay edge -> bridge -> collector round trip through a
real mosquitto, one retained flows message decoded by the bridge, one remote command
answered. The balena Dockerfiles install this same wheel (test_provision_deploy.py).

Installed as a serial-only node (`walkway[serial]`): no OpenCV, no pygame, and a camera
command says which extra to install. Needs the package index (or pip's cache) for the
base dependencies; about 20 s.
"""

import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support.walkway_procs import wait_for

# One xdist worker builds the wheel and the venv once for the whole file (./run test).
pytestmark = [pytest.mark.wheel, pytest.mark.xdist_group("wheel")]

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "walkway", "edge", "sensors", "cloud_bridge",
           "signage_player", "provisioning", "simulator")
CSV = ("time,sensor,direction,count\n"
       "2026-01-12T07:00:10Z,cam.a,in,3\n2026-01-12T07:00:20Z,cam.a,out,2\n"
       "2026-01-12T07:01:10Z,cam.a,in,4\n2026-01-12T07:03:00Z,cam.a,in,1\n")


def run(args: list, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          timeout=300, **kwargs)
    assert done.returncode == 0, f"{args[:4]}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the tracked (and new, not ignored) sources, so no build/ or
    stale file of the checkout can slip in."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    if (ROOT / ".git").exists():
        listed = run(["git", "ls-files", "-co", "--exclude-standard", *SOURCES], cwd=ROOT)
        names = listed.stdout.splitlines()
    else:  # an unpacked source archive: everything but caches
        names = [str(p.relative_to(ROOT)) for s in SOURCES for p in
                 ([ROOT / s] if (ROOT / s).is_file() else (ROOT / s).rglob("*"))
                 if "__pycache__" not in p.parts and ".egg-info" not in str(p)]
    for name in names:
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes((ROOT / name).read_bytes())
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", work / "dist", src])
    (built,) = (work / "dist").glob("walkway-*.whl")
    return built


@pytest.fixture(scope="module")
def node_env(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A clean venv with the wheel and its `serial` extra; env for processes run from it."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])  # no system site-packages
    run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "-q",
         f"{wheel}[serial]"])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return {"bin": venv / "bin", "env": env}


def test_the_wheel_carries_schemas_units_scenarios_and_example_content(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for schema in ("counts", "ack", "status", "health", "cmd", "cmd-result", "flows"):
        assert f"cloud_bridge/schemas/{schema}.v1.json" in names
    for unit in ("walkway-edge.service", "walkway-bridge.service", "walkway-signage.service",
                 "walkway-collector.service", "walkway.sysusers.conf"):
        assert f"edge/systemd/{unit}" in names
    assert "simulator/scenarios/sapporo.toml" in names
    assert "signage_player/example_content/sapporo/manifest.json" in names
    assert not any(n.startswith(("tests/", "docs/", "bench/")) for n in names)


def node_toml(broker_url: str) -> str:
    return f"""[node]
id = "wheel-n1"
site = "wheel-site"

[store]
path = "edge.db"

[mqtt]
url = "{broker_url}"

[health]
every_s = 1

[signage]
state_dir = "signage-state"

[[sources]]
type = "replay"
name = "replay"
path = "counts.csv"
"""


def test_a_node_installed_from_the_wheel_round_trips(node_env: dict, broker,
                                                     tmp_path: Path) -> None:
    bin_dir, env = node_env["bin"], node_env["env"]
    walkway = str(bin_dir / "walkway")
    where = run([bin_dir / "python", "-c", "import walkway, cloud_bridge.wire as w;"
                 "print(walkway.__file__); print(w.SCHEMA_DIR)"], cwd=tmp_path, env=env)
    assert str(ROOT) not in where.stdout and str(bin_dir.parent) in where.stdout

    (tmp_path / "counts.csv").write_text(CSV)
    config = tmp_path / "node.toml"
    config.write_text(node_toml(broker.url))
    run([walkway, "config", "validate", config], cwd=tmp_path, env=env)

    procs = []

    def start(name: str, *args: object) -> None:
        log = (tmp_path / f"{name}.log").open("wb")
        procs.append((name, log, subprocess.Popen([walkway, *map(str, args)], cwd=tmp_path,
                                                  env=env, stdout=log, stderr=log)))

    cloud = tmp_path / "cloud.db"
    try:
        start("collector", "collector", "run", "--broker", broker.url, "--db", cloud,
              "--flows-every", "0.5")
        start("edge", "edge", "run", "--config", config)
        start("bridge", "bridge", "run", "--config", config)

        def stored() -> int:
            if not cloud.exists():
                return 0
            with sqlite3.connect(cloud) as db:
                try:
                    return db.execute("SELECT coalesce(sum(count), 0) FROM counts").fetchone()[0]
                except sqlite3.OperationalError:
                    return 0

        wait_for(lambda: stored() == 10, 30, "the replayed 10 crossings in the collector")

        # The collector's retained flows message, decoded (schema from the wheel) by the
        # node's bridge and handed to its sign.
        neighbours = tmp_path / "signage-state" / "neighbours.json"
        wait_for(neighbours.exists, 30, "the bridge to write the sign's neighbours file")
        assert "wheel-n1/cam.a" in json.loads(neighbours.read_text())["counts"]

        sent = run([walkway, "fleet", "send", "wheel-n1", "ping", "--site", "wheel-site",
                    "--broker", broker.url, "--json", "--timeout", "30"], cwd=tmp_path, env=env)
        result = json.loads(sent.stdout.splitlines()[-1])
        assert result["status"] == "ok" and result["data"]["pong"] is True
        for name, _log, proc in procs:
            assert proc.poll() is None, f"{name} exited: {(tmp_path / f'{name}.log').read_text()}"
    finally:
        for _name, _log, proc in procs:
            proc.terminate()
        for _name, log, proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def test_a_serial_only_node_has_no_opencv_nor_pygame_and_says_which_extra(
        node_env: dict, tmp_path: Path) -> None:
    bin_dir, env = node_env["bin"], node_env["env"]
    missing = subprocess.run(
        [bin_dir / "python", "-c", "import importlib.util as u; print([m for m in "
         "('cv2', 'pygame', 'numpy', 'bleak', 'serial') if u.find_spec(m) is None])"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert missing.stdout.strip() == "['cv2', 'pygame', 'numpy', 'bleak']", missing.stderr
    help_text = run([bin_dir / "walkway", "--help"], cwd=tmp_path, env=env).stdout
    assert "count-video" in help_text and "signage" in help_text
    camera = subprocess.run([bin_dir / "walkway", "count-video", "x.mp4", "--line",
                             "0,0.5,1,0.5"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=60)
    assert camera.returncode == 2
    assert camera.stderr.strip().splitlines()[-1].endswith("pip install 'walkway[camera]'")


def test_units_and_scenarios_are_read_from_the_installed_package(node_env: dict,
                                                                   tmp_path: Path) -> None:
    bin_dir, env = node_env["bin"], node_env["env"]
    root = tmp_path / "root"
    run([bin_dir / "walkway", "install-systemd", "--root", root, "--config",
         "/var/lib/walkway/node.toml", "--json"], cwd=tmp_path, env=env)
    unit = (root / "etc/systemd/system/walkway-edge.service").read_text()
    assert "edge run --config /var/lib/walkway/node.toml" in unit
    scenario = run([bin_dir / "python", "-c", "from simulator.scenario import load_scenario;"
                    "print(load_scenario('sapporo').nodes[0].id)"], cwd=tmp_path, env=env)
    assert scenario.stdout.strip()
