"""sd_notify against a real unix datagram socket given as NOTIFY_SOCKET: READY=1, watchdog
pings while the store takes writes, none once it is unwritable, pings again once it heals."""

import socket
from pathlib import Path

import pytest

from edge.config import load_config
from edge.daemon import EdgeDaemon
from walkway.notify import FrameWatchdog, Notifier, Watchdog


@pytest.fixture
def notify_socket(tmp_path: Path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    yield path, sock
    sock.close()


def received(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


def test_notifier_from_env_and_abstract_namespace(notify_socket) -> None:
    path, sock = notify_socket
    n = Notifier.from_env({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "3000000"})
    assert n.enabled and n.watchdog_interval == 1.5
    assert n.ready("up") and n.watchdog() and n.status("a\nb")
    assert received(sock) == ["READY=1\nSTATUS=up", "WATCHDOG=1", "STATUS=a b"]
    # WATCHDOG_PID naming another process: the watchdog is not ours to feed.
    other = Notifier.from_env({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "3000000",
                               "WATCHDOG_PID": "1"})
    assert other.watchdog_interval is None
    assert not Notifier.from_env({}).enabled and not Notifier.from_env({}).ready()

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as abstract:
        name = f"walkway-test-{path.stat().st_ino}"
        abstract.bind(b"\0" + name.encode())
        assert Notifier(f"@{name}").send("READY=1")
        assert abstract.recv(100) == b"READY=1"


def test_watchdog_pings_only_while_checks_pass(notify_socket) -> None:
    path, sock = notify_socket
    now = [0.0]
    problem: list[str] = []
    dog = Watchdog(Notifier(str(path), 2_000_000), [lambda: problem[0] if problem else None],
                   clock=lambda: now[0])
    for _ in range(4):
        dog.tick()
        now[0] += 0.5
    assert received(sock) == ["WATCHDOG=1", "WATCHDOG=1"]
    problem.append("store unwritable")
    for _ in range(6):
        assert not dog.tick() or now[0] % 1
        now[0] += 0.5
    assert received(sock) == ["STATUS=unhealthy: store unwritable"]
    problem.clear()
    dog.tick()
    assert received(sock) == ["STATUS=healthy", "WATCHDOG=1"]


def test_frame_watchdog_for_the_signage_loop(notify_socket) -> None:
    path, sock = notify_socket
    now = [0.0]
    fw = FrameWatchdog(Notifier(str(path), 1_000_000), max_frame_gap_s=2, clock=lambda: now[0])
    fw.ready()
    for _ in range(3):
        fw.frame_drawn()
        now[0] += 0.5
    assert received(sock) == ["READY=1\nSTATUS=showing content"] + ["WATCHDOG=1"] * 3
    now[0] += 10  # the loop stopped drawing: nothing more reaches systemd
    fw.watchdog.tick()
    assert received(sock) == ["STATUS=unhealthy: no frame drawn for 10 s"]


def test_edge_daemon_ready_then_pings_stop_when_the_store_is_unwritable(
        tmp_path: Path, notify_socket) -> None:
    path, sock = notify_socket
    config_file = tmp_path / "node.toml"
    config_file.write_text("""
[node]
id = "n1"
site = "s1"
[store]
path = "edge.db"
[mqtt]
url = "mqtt://127.0.0.1:1"
[health]
write_stale_s = 3
""")
    config = load_config(config_file)
    now = [1000.0]
    seen: list[str] = []
    phase = {"broken_at": None, "ticks_after": 0}

    def on_tick(daemon: EdgeDaemon) -> None:
        seen.extend(received(sock))
        now[0] += 1.0  # each loop turn is one second of the daemon's clock
        pings = seen.count("WATCHDOG=1")
        if phase["broken_at"] is None and pings >= 4:
            # Make the store unwritable for this very connection (root ignores chmod).
            # Fault injection at the connection itself: the one place a test opens the Store.
            daemon.store._conn.execute("PRAGMA query_only=1")
            phase["broken_at"] = len(seen)
        elif phase["broken_at"] is not None:
            phase["ticks_after"] += 1
            if phase["ticks_after"] == 10:
                daemon.store._conn.execute("PRAGMA query_only=0")
            if phase["ticks_after"] > 14:
                daemon.stop()
        if now[0] > 1200:
            daemon.stop()

    daemon = EdgeDaemon(config, clock=lambda: now[0], on_tick=on_tick,
                        notifier=Notifier(str(path), 2_000_000))
    daemon.run()
    seen.extend(received(sock))
    assert seen[0].startswith("READY=1\nSTATUS=counting with 0 sources")
    broken = phase["broken_at"]
    assert broken is not None
    during = seen[broken:]
    unhealthy = next(i for i, m in enumerate(during) if m.startswith("STATUS=unhealthy"))
    assert "no store write succeeded" in during[unhealthy]
    # At most the pings already due before write_stale_s ran out, then none while broken.
    assert during[:unhealthy].count("WATCHDOG=1") <= 3
    healed = during.index("STATUS=healthy")
    assert "WATCHDOG=1" not in during[unhealthy:healed]
    assert during[healed + 1] == "WATCHDOG=1"
    assert seen[-1] == "STOPPING=1"


def test_bridge_ready_and_pings_while_its_mqtt_loop_runs(tmp_path: Path, broker,
                                                         notify_socket) -> None:
    import threading

    from support.walkway_procs import wait_for

    from cloud_bridge.bridge import Bridge

    path, sock = notify_socket
    config_file = tmp_path / "node.toml"
    config_file.write_text(f"""
[node]
id = "n1"
site = "s1"
[store]
path = "edge.db"
[mqtt]
url = "{broker.url}"
""")
    seen: list[str] = []
    holder: dict = {}

    def run() -> None:
        holder["bridge"] = Bridge(load_config(config_file), notifier=Notifier(str(path), 200_000))
        holder["bridge"].run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: seen.extend(received(sock)) or seen.count("WATCHDOG=1") >= 3, 30,
                 "watchdog pings from the bridge")
        assert seen[0] == "READY=1\nSTATUS=sending the outbox"
    finally:
        holder["bridge"].stop()
        thread.join(10)
    assert received(sock)[-1] == "STOPPING=1"
    # The check that gates those pings: a live client whose loop has not completed a cycle
    # for [health] loop_stale_s (30 s) means a wedged loop.
    idle = Bridge(load_config(config_file), notifier=Notifier(None))
    assert idle._loop_check() is None
    idle.link.client = object()
    idle.link.last_loop_ok = idle.monotonic() - 31
    assert "MQTT loop has not completed a cycle for 31 s" == idle._loop_check()
    idle.link.client = None
    idle.store.close()


def test_walkway_edge_run_under_a_notify_socket(tmp_path: Path, notify_socket) -> None:
    """The real process reads NOTIFY_SOCKET/WATCHDOG_USEC from its environment."""
    from support.walkway_procs import WalkwayProcess, wait_for

    path, sock = notify_socket
    config_file = tmp_path / "node.toml"
    config_file.write_text('[node]\nid = "n1"\nsite = "s1"\n[store]\npath = "edge.db"\n'
                           '[mqtt]\nurl = "mqtt://127.0.0.1:1"\n')
    edge = WalkwayProcess(["edge", "run", "--config", str(config_file)], tmp_path / "edge.log",
                          env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"}).start()
    seen: list[str] = []
    try:
        wait_for(lambda: seen.extend(received(sock)) or seen.count("WATCHDOG=1") >= 2, 30,
                 "READY and watchdog pings from `walkway edge run`")
    finally:
        assert edge.terminate() == 0
    seen.extend(received(sock))
    assert seen[0].startswith("READY=1\nSTATUS=counting with 0 sources")
    assert seen[-1] == "STOPPING=1"
