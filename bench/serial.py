"""Serial parsers: frames per second on one core, clean and with junk between the frames.

Baseline measured in the same run: slicing the same clean stream into its frames with no
checks at all (the least any parser must do), reported as a ratio.
"""

import random
import time

from sensors.serial.parsers import MaxBotixParser, TfLunaParser, Wxt530Parser
from sensors.serial.tfluna import DetectorOptions, PassDetector
from simulator.serial_devices import corrupt, maxbotix_series, tfluna_passes, wxt530_series

CHUNK = 4096  # what one read() returns at most (sensors/serial/common.py)


def _feed(parser_cls, data: bytes, detector: PassDetector | None = None) -> tuple[int, float]:
    p = parser_cls()
    t0 = time.perf_counter()
    n = 0
    for i in range(0, len(data), CHUNK):
        frames = p.feed(data[i:i + CHUNK])
        n += len(frames)
        if detector is not None and frames:
            detector.feed(frames)
    return n, time.perf_counter() - t0


def _detector(lidar: bool) -> PassDetector | None:
    return PassDetector(DetectorOptions()) if lidar else None


def _baseline(frames: list[bytes]) -> float:
    data = b"".join(frames)
    size = len(frames[0])
    t0 = time.perf_counter()
    view = memoryview(data)
    out = [bytes(view[i:i + size]) for i in range(0, len(data) - size + 1, size)]
    assert out
    return time.perf_counter() - t0


def main() -> dict:
    rng = random.Random(7)
    lidar, _ = tfluna_passes(2000, rng)
    snow, _ = maxbotix_series(100_000, rng)
    weather, _ = wxt530_series(20_000, rng)
    result = {}
    for name, cls, frames, proto in (("tfluna", TfLunaParser, lidar, "tfluna"),
                                     ("maxbotix", MaxBotixParser, snow, "maxbotix"),
                                     ("wxt530", Wxt530Parser, weather, "wxt530")):
        clean = b"".join(frames)
        lidar_ = name == "tfluna"
        n, dt = min((_feed(cls, clean, _detector(lidar_)) for _ in range(5)), key=lambda x: x[1])
        junk, _pieces = corrupt(frames, proto, random.Random(1), 1.0)
        nj, dtj = min((_feed(cls, junk, _detector(lidar_)) for _ in range(5)),
                      key=lambda x: x[1])
        base = min(_baseline(frames) for _ in range(5)) if name != "wxt530" else None
        result[name] = {
            "frames": n, "frames_per_s": round(n / dt),
            "frames_per_s_with_junk": round(nj / dtj),
            "ratio_to_slicing_baseline": round(base / dt, 3) if base else None,
        }
        extra = " (incl. pass detector)" if name == "tfluna" else ""
        print(f"{name}: {n / dt:,.0f} frames/s clean{extra}, {nj / dtj:,.0f} frames/s with one "
              f"junk piece per frame" + (f", {base / dt:.3f}x slicing baseline" if base else ""))
    tf = result["tfluna"]["frames_per_s"]
    print(f"TF-Luna at 100 Hz needs 100 frames/s: {tf / 100:,.0f}x headroom")
    return result


if __name__ == "__main__":
    main()
