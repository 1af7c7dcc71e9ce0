"""Source type "ble": crowd estimates per window from BLE advertisements (issue #4).

The source thread runs its own asyncio loop for bleak. The detection callback feeds the
window estimator (sensors/ble/estimator.py), which holds addresses only as keyed digests
under a per-window key; at each window end the counts become observations at the window's
start time: directions estimate / lower / upper / passby / staying (docs/sensors.md).
A watchdog restarts the scanner when advertisements stop (BlueZ is known to stall after
hours of scanning); windows during which the scanner was down are not reported at all, so a
broken adapter shows up as missing data, never as zeros.
"""

import asyncio
import importlib
import logging
import math
import threading
from dataclasses import dataclass, field
from typing import Any

from sensors.base import Emit, Source, SourceContext, SourceState, SourceStatus
from sensors.ble.estimator import (
    ESTIMATOR_KEYS,
    WINDOW_CHOICES,
    EstimatorOptions,
    WindowEstimator,
    WindowResult,
)
from sensors.ble.scanner import make_scanner, scrub, triage
from walkway.config_table import ConfigTable
from walkway.keys import Key, KeySpec
from walkway.records import Batch, Measurement, Observation

log = logging.getLogger(__name__)

DIRECTIONS = ("estimate", "lower", "upper", "passby", "staying")
TICK_S = 0.2


SOURCE_KEYS = KeySpec("sources.ble", [
    Key("scanning", "text", "auto", "auto: passive where BlueZ allows it, else active; or "
        "passive/active", choices=("auto", "passive", "active")),
    Key("adapter", "text", None, "optional; default: the system's default adapter",
        pattern=r"hci[0-9]{1,2}", what="an adapter name"),
    Key("watchdog_s", "number", 30.0, "restart the scanner after this long without any "
        "advertisement", min=1, max=3600),
    Key("backend", "text", None, "optional, tests and simulator only: a bleak backend "
        "(module:name)", pattern=r"[A-Za-z0-9_.]+:[A-Za-z0-9_]+",
        what="a bleak backend as module:name"),
])
BLE_KEYS = ESTIMATOR_KEYS + SOURCE_KEYS


@dataclass(frozen=True)
class BleOptions:
    estimator: EstimatorOptions = field(default_factory=EstimatorOptions)
    scanning: str = SOURCE_KEYS.default("scanning")
    adapter: str | None = SOURCE_KEYS.default("adapter")
    watchdog_s: float = SOURCE_KEYS.default("watchdog_s")
    backend: str | None = SOURCE_KEYS.default("backend")


def parse_options(t: ConfigTable) -> BleOptions:
    k = ESTIMATOR_KEYS
    window = t.read(k["window_s"])
    if window is not None and window not in WINDOW_CHOICES:
        t.problem("window_s", "one of " + ", ".join(map(str, WINDOW_CHOICES)), window)
    est = EstimatorOptions(
        window_s=float(window or k.default("window_s")),
        **{key.name: t.read(key) for key in ESTIMATOR_KEYS if key.name != "window_s"},
    )
    return BleOptions(estimator=est, **{key.name: t.read(key) for key in SOURCE_KEYS})


def open_source(spec: Any, ctx: SourceContext) -> "BleSource":
    return BleSource(spec.name, spec.options, ctx)


def load_backend(ref: str | None, ctx: SourceContext) -> type | None:
    """`module:Class` (a BaseBleakScanner subclass) or `module:factory` (ctx -> class).

    This is bleak's own seam for custom backends; the simulator and tests use it.
    """
    if ref is None:
        return None
    module, _, name = ref.partition(":")
    obj = getattr(importlib.import_module(module), name)
    return obj if isinstance(obj, type) else obj(ctx)


class BleSource(Source):
    def __init__(self, name: str, options: BleOptions, ctx: SourceContext,
                 backend: type | None = None) -> None:
        super().__init__(name)
        self.options = options
        self.ctx = ctx
        self._backend = backend
        self._state = SourceStatus(SourceState.STARTING)
        self._mode = ""
        self._counters = {"adverts": 0, "windows": 0, "windows_unreported": 0,
                          "restarts": 0, "recovered": 0, "scanner_errors": 0}
        self._excluded: dict[str, int] = {}
        self._estimator: WindowEstimator | None = None
        self._window_end = 0.0
        self._window_ok = False
        self._last_advert = 0.0
        self._emit: Emit | None = None
        self._scanner: Any = None

    # -- status -----------------------------------------------------------------------
    def status(self) -> SourceStatus:
        counters = dict(self._counters)  # dict() copies atomically; the loop thread writes
        counters.update({f"excluded_{k}": v for k, v in dict(self._excluded).items()})
        return SourceStatus(self._state.state, self._state.reason, counters)

    def _set(self, state: SourceState, reason: str = "") -> None:
        reason = scrub(reason)
        if state == SourceState.STALLED:
            log.warning("ble %s: %s", self.name, reason)
        self._state = SourceStatus(state, reason)

    # -- windows ----------------------------------------------------------------------
    def _window_start(self, t: float) -> float:
        w = self.options.estimator.window_s
        return math.floor(t / w) * w

    def _on_advert(self, device: Any, adv: Any) -> None:
        """bleak detection callback (runs on this source's event loop)."""
        t = self.ctx.clock()
        if t >= self._window_end:
            self._roll(t)
        address, rssi, reason = triage(device, adv)
        self._estimator.add(t, address, rssi, reason)  # type: ignore[union-attr]
        self._counters["adverts"] += 1
        self._last_advert = t
        if self._state.state != SourceState.OK:
            self._counters["recovered"] += self._state.state == SourceState.STALLED
            self._set(SourceState.OK, f"{self._mode} scanning")

    def _roll(self, now: float) -> None:
        """Close every window that ended by `now` and hand its counts to the edge."""
        est = self._estimator
        assert est is not None and self._emit is not None
        while now >= self._window_end:
            result = est.close(self._window_end)
            self._report(result)
            self._window_end += self.options.estimator.window_s
            self._window_ok = self._mode != ""
        self._forget_devices()

    def _forget_devices(self) -> None:
        """Empty bleak's per-scanner device table at each window end.

        bleak keeps every BLEDevice it saw (keyed by address) in `seen_devices` until the
        scan restarts: with rotating addresses that is unbounded memory over months, and
        addresses outliving their window in this process. bluetoothd keeps its own cache
        and drops unconnected devices after TemporaryTimeout (30 s by default).
        """
        backend = getattr(self._scanner, "_backend", None)
        seen = getattr(backend, "seen_devices", None)
        if isinstance(seen, dict):
            seen.clear()

    def _report(self, r: WindowResult) -> None:
        for reason, n in r.excluded.items():
            self._excluded[reason] = self._excluded.get(reason, 0) + n
        if not self._window_ok:
            self._counters["windows_unreported"] += 1
            self._emit(Batch(watermark=r.end))  # type: ignore[misc]
            return
        self._counters["windows"] += 1
        counts = r.directions()
        obs = [Observation(r.start, self.name, d, counts[d]) for d in DIRECTIONS]
        meas = []
        if r.dwell_mean_s is not None:
            meas.append(Measurement(r.start, self.name, "dwell_mean_s", round(r.dwell_mean_s, 1)))
        self._emit(Batch(observations=obs, measurements=meas, watermark=r.end))  # type: ignore[misc]

    # -- scanner ----------------------------------------------------------------------
    async def _start_scanner(self) -> Any:
        opts = self.options
        if self._backend is None and opts.backend is not None:
            self._backend = load_backend(opts.backend, self.ctx)  # once: restarts reuse it
        backend = self._backend
        modes = ["passive", "active"] if opts.scanning == "auto" else [opts.scanning]
        error = ""
        for mode in modes:
            try:
                scanner = make_scanner(self._on_advert, mode, opts.adapter, backend)
                await scanner.start()
            except Exception as exc:  # noqa: BLE001 - bleak/D-Bus raise many types; retried
                error = f"{mode} scan failed: {type(exc).__name__}: {exc}"
                if isinstance(exc, FileNotFoundError | ConnectionRefusedError):
                    error += " (D-Bus system bus not reachable: is bluetoothd running?)"
                log.warning("ble %s: %s", self.name, scrub(error))
                continue
            self._mode = mode
            self._scanner = scanner
            return scanner
        self._counters["scanner_errors"] += 1
        self._mode = ""
        self._scanner = None
        self._window_ok = False
        self._set(SourceState.DISCONNECTED, f"adapter {opts.adapter or 'default'}: {error}")
        return None

    async def _stop_scanner(self, scanner: Any) -> None:
        if scanner is None:
            return
        try:
            await scanner.stop()
        except Exception as exc:  # noqa: BLE001 - a dead adapter may fail to stop; we move on
            log.warning("ble %s: stop failed: %s", self.name, scrub(str(exc)))

    async def _main(self, emit: Emit, stop: threading.Event) -> None:
        self._emit = emit
        clock = self.ctx.clock
        now = clock()
        start = self._window_start(now)
        self._estimator = WindowEstimator(self.options.estimator, start)
        self._window_end = start + self.options.estimator.window_s
        self._last_advert = now  # "silent since start" until the first advert
        scanner = await self._start_scanner()
        self._window_ok = scanner is not None
        retry_at = now
        backoff = 1.0
        watch, watch_from, stalled_at = self.options.watchdog_s, now, 0
        if scanner is not None:
            self._set(SourceState.OK, f"{self._mode} scanning")
        while not stop.is_set():
            await asyncio.sleep(TICK_S)
            now = clock()
            if now >= self._window_end:
                self._roll(now)
            if scanner is None:
                if now >= retry_at:
                    scanner = await self._start_scanner()
                    backoff = min(backoff * 2, 60.0)
                    retry_at = now + backoff
                    if scanner is not None:
                        backoff = 1.0
                        watch_from = now
                        self._set(SourceState.OK, f"{self._mode} scanning")
                continue
            silent = now - max(self._last_advert, watch_from)
            if silent >= watch:
                # BlueZ can keep a discovery "running" that delivers nothing; only a fresh
                # scanner brings adverts back. An empty walkway at night looks the same, so
                # repeated restarts back off (doubling up to 10 min) and the state says so.
                self._counters["restarts"] += 1
                self._set(SourceState.STALLED, f"no advertisements for "
                          f"{now - self._last_advert:.0f} s; scanner restarted")
                await self._stop_scanner(scanner)
                scanner = await self._start_scanner()
                watch_from = now
                watch = min(watch * 2, max(600.0, self.options.watchdog_s))
                stalled_at = self._counters["adverts"]
            elif self._counters["adverts"] > stalled_at and watch != self.options.watchdog_s:
                watch = self.options.watchdog_s
        await self._stop_scanner(scanner)
        # The current partial window is reported: a restart mid-window adds two partial
        # windows into one bin, which over-counts people present across the restart;
        # dropping it would lose everyone seen so far. Restarts are rare; losses are not ok.
        end = clock()
        if self._window_ok and self._estimator is not None:
            self._report(self._estimator.close(max(end, self._estimator.start)))
        self._estimator = None  # the last key goes with it

    def run(self, emit: Emit, stop: threading.Event, position: str | None) -> None:
        asyncio.run(self._main(emit, stop))
