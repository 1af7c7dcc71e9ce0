"""Serial feeds: TF-Luna passes, MaxBotix snow depth and WXT530 weather over a real pty.

A writer thread in the simulator turns simulated time into device frames (built by
simulator/serial_devices.py) and writes them to the pty master; the node's real serial
source reads the slave through a by-id-like symlink. The master is non-blocking: frames a
device sends while nobody reads (node powered off) are dropped, as on a real line; frames
the pty cannot take while the node runs but lags (time compression) wait in a bounded
backlog (BACKLOG_MAX). The "sensor unplugged" fault closes the pty and removes the link,
like pulling the USB cable. The report notes the bytes dropped per feed.
"""

import fcntl
import math
import os
import random
import select
import termios
import threading

from simulator import serial_devices as dev
from simulator.feed_base import Feed, FeedContext
from simulator.gate_walkers import GateView, walkers_for

TICK_S = 0.02
# Simulated time runs `speed` times faster than the reader's scheduling: a node stalled for
# 0.3 wall seconds on a busy machine is 12 simulated seconds, far more than the kernel's
# 4 KB pty buffer holds, while a real line at real speed never waits that long. Frames the
# pty cannot take yet wait here (a USB adapter's FIFO, scaled to the time compression);
# while the node is down they are dropped, as on a real line.
BACKLOG_MAX = 64 * 1024


class SerialFeed(Feed):
    protocol = ""
    baudrate = 115200

    def __init__(self, ctx: FeedContext) -> None:
        super().__init__(ctx)
        self.link = ctx.world_dir / f"tty-{self.sensor.name}"
        self.pty: dev.PtyDevice | None = None
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.rng = random.Random(ctx.scenario.seed * 7919 + len(ctx.node.id))
        self.written = 0
        self.dropped = 0
        self.moved = False  # the last write to the pty took something

    def serial_toml(self) -> str:
        speed = self.ctx.scenario.speed
        # Stall and reconnect limits are in simulated seconds (the source's clock) or real
        # ones (its backoff): keep both about two wall seconds whatever the speed.
        # Batches every quarter wall second: each is one durable commit in the edge store.
        emit = min(60.0, max(1.0, speed / 4))
        return (f'url = "{self.link}"\nbaudrate = {self.baudrate}\n'
                f"stall_s = {max(5.0, 2.0 * speed):g}\nreconnect_max_s = 1.0\n"
                f"emit_every_s = {emit:g}\n")

    def frames_between(self, a: float, b: float) -> bytes:
        raise NotImplementedError

    def start(self) -> None:
        self._plug()
        self.thread = threading.Thread(target=self._run, name=f"feed-{self.sensor.name}",
                                       daemon=True)
        self.thread.start()

    def _plug(self) -> None:
        with self.lock:
            self.pty = dev.PtyDevice(self.link)
            flags = fcntl.fcntl(self.pty.master, fcntl.F_GETFL)
            fcntl.fcntl(self.pty.master, fcntl.F_SETFL, flags | os.O_NONBLOCK)

    def _wait(self, backlog: bytearray) -> bool:
        """Until the next tick, or sooner once the pty can take more of a backlog: a node
        that stalled then drains it at its own pace, not one 4 KB pty-full per tick (which
        kept its frames seconds of simulated time late). False: stop."""
        fd = self.pty.master if backlog and self.pty is not None else None
        if fd is None or not self.moved:  # nothing waiting, or the last write took nothing
            return not self.stop_event.wait(TICK_S)
        try:
            select.select([], [fd], [], TICK_S)
        except (OSError, ValueError):  # unplugged meanwhile
            pass
        return not self.stop_event.is_set()

    def _run(self) -> None:
        last = self.sim_clock()
        backlog = bytearray()  # frames the pty could not take yet (see BACKLOG_MAX)
        while self._wait(backlog):
            now = self.sim_clock()
            data = self.frames_between(last, now)
            last = now
            with self.lock:
                if self.pty is None:
                    backlog.clear()
                    continue
                if self.edge_pid() is None:  # the node is down: nobody reads the line
                    self.dropped += len(backlog) + len(data)
                    backlog.clear()
                    continue
                backlog += data
                if len(backlog) > BACKLOG_MAX:
                    self.dropped += len(backlog) - BACKLOG_MAX
                    del backlog[BACKLOG_MAX:]
                if not backlog:
                    continue
                try:
                    n = os.write(self.pty.master, backlog)
                except (BlockingIOError, OSError):
                    n = 0
                self.written += n
                self.moved = n > 0
                del backlog[:n]

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(5)
        with self.lock:
            if self.pty is not None:
                self.pty.close()
                self.pty = None

    def flush(self) -> None:
        """Forget bytes queued while the reader was gone (after a simulated power cut)."""
        with self.lock:
            if self.pty is not None:
                termios.tcflush(self.pty.slave, termios.TCIFLUSH)

    def unplug(self, on: bool) -> bool:
        if on:
            with self.lock:
                if self.pty is not None:
                    self.pty.unplug()
                    self.pty = None
        else:
            self._plug()
        self.unplugged = on
        return True


class TfLunaFeed(SerialFeed):
    """Overhead lidar at a one-person gate: walkers of varying size and pace, groups in file
    and close followers (simulator/gate_walkers.py); each true crossing is one walker."""

    protocol = "tfluna"
    compare = ("pass",)
    rate_hz = 25.0  # frames per simulated second (the device default is 100)
    mount_cm = 250

    def prepare(self) -> None:
        sc = self.ctx.scenario
        c = self.ctx.demand.crossings(self.ctx.node, self.sensor, sc.start, sc.end)
        walkers = walkers_for(c.times.tolist(), random.Random(sc.seed * 31 + 11), sc.start)
        # Followers step in behind the one ahead: the truth is when each walker passes.
        self.truth = {}
        first = int(sc.start // sc.bin_seconds) * sc.bin_seconds
        for b in range(first, int(sc.end), sc.bin_seconds):
            self.truth[(b, "pass")] = 0.0
        for w in walkers:
            if sc.start <= w.t < sc.end:
                b = int(w.t // sc.bin_seconds) * sc.bin_seconds
                self.truth[(b, "pass")] = self.truth.get((b, "pass"), 0.0) + 1
        self.view = GateView([w for w in walkers if w.t < sc.end], self.mount_cm)
        # The device noise from the scenario's first frame on is the same draw sequence
        # whenever the writer thread happened to start (it starts before the simulated
        # start, by an amount that depends on the machine's load): a seed replays exactly.
        self.first_k = math.ceil(sc.start * self.rate_hz)
        self.next_k = self.first_k
        self.pre_rng = random.Random(self.rng.random())  # the floor before the start

    def reading(self, k: int) -> tuple[int, int]:
        if k < self.first_k:
            return self.view.reading(k / self.rate_hz, self.pre_rng)
        while self.next_k < k:  # the writer started late: draw what it skipped
            self.view.reading(self.next_k / self.rate_hz, self.rng)
            self.next_k += 1
        self.next_k = k + 1
        return self.view.reading(k / self.rate_hz, self.rng)

    def source_toml(self) -> str:
        return (f'[[sources]]\ntype = "tfluna"\nname = "{self.source_name}"\n'
                + self.serial_toml()
                + f"mount_height_cm = {self.mount_cm}\nframe_rate_hz = {self.rate_hz:g}\n")

    def frames_between(self, a: float, b: float) -> bytes:
        k0, k1 = math.ceil(a * self.rate_hz), math.ceil(b * self.rate_hz)
        out = bytearray()
        for k in range(k0, k1):
            out += dev.tfluna_frame(*self.reading(k))
        return bytes(out)


class MaxBotixFeed(SerialFeed):
    """Ultrasonic snow gauge: depth grows with the scenario's snowfall; some bad readings."""

    protocol = "maxbotix"
    baudrate = 9600
    compare = ("snow_depth_mm",)
    measures = True
    mount_mm = 2000
    rate_hz = 1.0

    def depth(self, t: float) -> float:
        sc = self.ctx.scenario
        return sc.snow_cm * 10 + 6.0 * (t - sc.start) / 3600 * (sc.snow_cm > 0)

    def prepare(self) -> None:
        sc = self.ctx.scenario
        w = sc.bin_seconds
        first = int(sc.start // w) * w
        # The true mean over each bin: depth is linear in time, so the mid-bin value.
        self.truth = {(b, "snow_depth_mm"): self.depth(b + w / 2)
                      for b in range(first, int(sc.end), w)}

    def source_toml(self) -> str:
        return (f'[[sources]]\ntype = "maxbotix"\nname = "{self.source_name}"\n'
                + self.serial_toml() + f"mount_height_mm = {self.mount_mm}\n")

    def frames_between(self, a: float, b: float) -> bytes:
        out = bytearray()
        for k in range(math.ceil(a * self.rate_hz), math.ceil(b * self.rate_hz)):
            if self.rng.random() < 0.05:
                out += dev.maxbotix_frame(self.rng.choice((5000, 9999)))  # no echo
                continue
            depth = self.depth(k / self.rate_hz) + self.rng.gauss(0, 2)
            out += dev.maxbotix_frame(int(round(self.mount_mm - depth)))
        return bytes(out)


class Wxt530Feed(SerialFeed):
    """Weather transmitter: a composite message every 5 simulated seconds."""

    protocol = "wxt530"
    baudrate = 19200
    compare = ("temperature_c",)
    measures = True
    every_s = 5.0

    def temperature(self, t: float) -> float:
        sc = self.ctx.scenario
        base = -6.0 if sc.snow_cm > 0 else 2.0
        hour = (t - sc.start) / 3600
        return base + 1.5 * hour + 0.4 * math.sin(t / 600)

    def prepare(self) -> None:
        sc = self.ctx.scenario
        w = sc.bin_seconds
        first = int(sc.start // w) * w
        self.truth = {}
        for b in range(first, int(sc.end), w):
            ks = range(math.ceil(b / self.every_s), math.ceil((b + w) / self.every_s))
            vals = [round(self.temperature(k * self.every_s), 1) for k in ks]
            if vals:
                self.truth[(b, "temperature_c")] = sum(vals) / len(vals)

    def source_toml(self) -> str:
        return (f'[[sources]]\ntype = "wxt530"\nname = "{self.source_name}"\n'
                + self.serial_toml())

    def frames_between(self, a: float, b: float) -> bytes:
        out = bytearray()
        for k in range(math.ceil(a / self.every_s), math.ceil(b / self.every_s)):
            t = k * self.every_s
            values = {"Dm": 300 + self.rng.randint(-20, 20), "Sm": 3.0, "Ta":
                      self.temperature(t), "Ua": 85.0, "Pa": 1004.0, "Rc": 0.0, "Hc": 0.0}
            out += dev.wxt530_message(values)
        return bytes(out)

