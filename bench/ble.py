"""BLE estimator: adverts per second on one core, and accuracy on synthetic crowds.

Throughput is measured twice in the same run: the estimator (keyed hash + window table +
window close) and a baseline that only counts adverts per address in a dict, so the figure
can be compared across noisy machines as a ratio.
"""

import time

from sensors.ble.estimator import EstimatorOptions, address_kind, is_beacon, run_windows
from simulator.ble_crowd import CrowdSpec, generate_crowd

CROWDS = (5, 20, 60, 150, 300)


def _triaged(crowd):
    out = []
    for a in crowd.adverts:
        reason = address_kind(a.address, a.address_type)
        if reason is None and is_beacon(a.manufacturer_data, list(a.service_uuids),
                                        a.service_data):
            reason = "beacon"
        out.append((a.time, a.address, a.rssi, reason))
    return out


def _baseline(adverts) -> float:
    t0 = time.perf_counter()
    seen: dict[str, int] = {}
    for _t, address, _rssi, _reason in adverts:
        seen[address] = seen.get(address, 0) + 1
    return time.perf_counter() - t0


def throughput() -> dict:
    crowd = generate_crowd(CrowdSpec(people_per_min=300, duration_s=300, seed=42))
    adverts = _triaged(crowd)
    opts = EstimatorOptions()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        run_windows(adverts, opts, crowd.spec.start)
        best = min(best, time.perf_counter() - t0)
    base = min(_baseline(adverts) for _ in range(3))
    t0 = time.perf_counter()
    _triaged(crowd)
    triage = time.perf_counter() - t0
    return {"adverts": len(adverts), "adverts_per_s": round(len(adverts) / best),
            "baseline_dict_per_s": round(len(adverts) / base),
            "ratio_to_baseline": round(base / best, 3),
            "with_triage_per_s": round(len(adverts) / (best + triage))}


def accuracy(seeds: tuple[int, ...] = (1, 2, 3)) -> dict:
    out = {}
    for ppm in CROWDS:
        truth = est = lower = upper = 0
        worst = 0.0
        bracket = True
        for seed in seeds:
            crowd = generate_crowd(CrowdSpec(people_per_min=ppm, duration_s=300,
                                             seed=seed * 1000 + ppm))
            results = run_windows(_triaged(crowd), EstimatorOptions(), crowd.spec.start)
            for r, (s, e) in zip(results, crowd.windows(), strict=False):
                t = crowd.truth(s, e)
                truth, est, lower, upper = truth + t, est + r.estimate, lower + r.lower, \
                    upper + r.upper
                worst = max(worst, abs(r.estimate - t) / t)
                bracket = bracket and r.lower <= t <= r.upper
        n = 5 * len(seeds)
        out[f"{ppm}_per_min"] = {
            "true_per_window": round(truth / n, 1),
            "estimate_error_pct": round(100 * (est / truth - 1), 1),
            "worst_window_error_pct": round(100 * worst, 1),
            "lower_pct_of_truth": round(100 * lower / truth, 1),
            "naive_overcount_pct": round(100 * (upper / truth - 1), 1),
            "bounds_bracket_every_window": bracket,
        }
    return out


def main() -> dict:
    result = {"throughput": throughput(), "accuracy": accuracy()}
    tp = result["throughput"]
    print(f"estimator: {tp['adverts_per_s']:,} adverts/s on one core "
          f"({tp['ratio_to_baseline']}x the dict-count baseline of "
          f"{tp['baseline_dict_per_s']:,}/s); with triage {tp['with_triage_per_s']:,}/s")
    for name, a in result["accuracy"].items():
        print(f"{name}: truth {a['true_per_window']}/window, estimate "
              f"{a['estimate_error_pct']:+}% (worst window {a['worst_window_error_pct']}%), "
              f"lower {a['lower_pct_of_truth']}% of truth, naive +{a['naive_overcount_pct']}%, "
              f"bracket={a['bounds_bracket_every_window']}")
    return result


if __name__ == "__main__":
    main()
