"""The soak's growth figure (bench/_soak_stats.py) and its fault schedule (bench/soak.py)."""

from pathlib import Path

import pytest

from bench._soak_stats import draw, growth, lives_of
from bench.soak import descendants, proc_stats, repeat_faults
from simulator.overrides import apply_overrides
from simulator.scenario import load_scenario


def _series(rss, hours: float = 24.0, per_h: int = 30, pid: int = 1, fds=lambda h: 10):
    n = int(hours * per_h)
    return [(i / per_h, pid, rss(i / per_h), fds(i / per_h), rss(i / per_h) / 2) for i in range(n)]


def test_warm_up_does_not_count_and_a_slow_leak_does():
    # Imports and caches in the first hour (30 -> 60 MB), then flat: no growth.
    flat = growth(_series(lambda h: 60.0 if h >= 0.5 else 30.0 + 60 * h), 24.0)
    assert flat is not None and flat.rss_growth == pytest.approx(1.0)
    assert flat.rss_start_mb == pytest.approx(60.0) and flat.lives == 1
    # 0.3 MB an hour on 60 MB: x1.11 by the end of the day, and a leaked fd an hour.
    leak = growth(_series(lambda h: 60.0 + 0.3 * h, fds=lambda h: 10 + int(h)), 24.0)
    assert leak is not None and leak.rss_growth > 1.1 and leak.fds_growth > 2
    assert leak.anon_growth == pytest.approx(leak.rss_growth)
    assert leak.fds_max == 33
    # A leak that a late drop hides still shows in the peak.
    hidden = growth(_series(lambda h: 60.0 + 2 * h if h < 23 else 60.0), 24.0)
    assert hidden.rss_growth < 1.0 and hidden.rss_peak > 1.5
    assert growth(_series(lambda h: 60.0, hours=2.0), 2.0) is None  # too short to say


def test_a_restarted_process_compares_its_lives():
    series = []
    for life in range(6):  # restarted every 4 h; each life inherits 2 MB more
        series += [(life * 4 + i / 30, 100 + life, 40.0 + 2 * life + i / 60, 12, 20.0)
                   for i in range(110)]
    assert [len(x) for x in lives_of(series)] == [110] * 6
    g = growth(series, 24.0)
    assert g is not None and g.lives == 6 and g.basis == "lives 2 -> 5"
    assert g.rss_end_mb - g.rss_start_mb == pytest.approx(6.0)


def test_transient_helpers_sampled_once_are_not_measured():
    # Forks about to exec (a child seen once as "python", 0.6 then 7 MB): no growth figure.
    helpers = [(9.4, 15743, 0.6, 4, 0.1), (15.4, 18320, 7.0, 3, 2.0), (16.4, 18699, 4.8, 3, 1.1)]
    assert growth(helpers, 24.0) is None
    # A real restarted process keeps its figure; a one-sample life among its lives is ignored.
    series = [(life * 4 + i / 30, 100 + life, 40.0, 12, 20.0) for life in range(6)
              for i in range(110)]
    g = growth(series[:330] + [(12.5, 999, 90.0, 3, 50.0)] + series[330:], 24.0)
    assert g is not None and g.lives == 6 and g.rss_peak == pytest.approx(1.0)


def test_the_scenario_faults_repeat_every_hour_of_the_soak():
    base = load_scenario("sapporo")
    day = repeat_faults(apply_overrides(base, minutes=24 * 60), 60)
    assert len(day.faults) == 24 * len(base.faults)
    assert sorted(f.at_min for f in day.faults if f.kind == "power-cut") == \
        [18 + 60 * k for k in range(24)]
    assert repeat_faults(base, 0) is base


def test_process_sampling_and_the_picture(tmp_path: Path):
    import os
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "print('up', flush=True); input()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "up\n"  # running Python, not just forked
        assert child.pid in descendants(os.getpid())
        rss, fds, anon = proc_stats(child.pid)
        assert rss > anon > 1 and fds >= 3
    finally:
        child.communicate("\n")
    assert proc_stats(child.pid) is None
    picture = tmp_path / "soak.png"
    draw({"n/edge": _series(lambda h: 50.0), "n/bridge": _series(lambda h: 30.0),
          "broker": _series(lambda h: 8.0)}, picture, "test", [(1.0, 1.1)])
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
