"""Run benchmarks. Each bench/NAME.py has `main() -> dict` and prints its own figures,
always as a ratio against a baseline measured in the same run (the machine is noisy)."""

import importlib
import json
import pkgutil
import sys
from pathlib import Path


def names() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    chosen = argv or names()
    unknown = [n for n in chosen if n not in names()]
    if unknown:
        print(f"bench: unknown benchmark {unknown[0]!r}; expected one of {', '.join(names())}",
              file=sys.stderr)
        return 2
    results = {}
    for name in chosen:
        print(f"== bench {name}", flush=True)
        results[name] = importlib.import_module(f"bench.{name}").main()
    print(json.dumps(results, indent=2, default=str))
    return 0


raise SystemExit(main(sys.argv[1:]))
