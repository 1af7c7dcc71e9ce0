"""Mutation fuzzing of every input a node or the collector accepts from outside (issue 18).

Each target takes bytes, feeds them to the real in-process decode/validate function (no MQTT
round trip) and returns an `Outcome`: accepted, or rejected with a short reason class. A
target that raises anything else is a crash; an accepted input whose effect differs from
what the input says (a stored count that is not the sent count) is a wrong count. Used by
tests/test_fuzz.py (a fixed seed, 10,000 cases per target) and bench/fuzz.py (longer runs).
"""

import json
import random
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TIME_SHAPED = ["2026-02-30T00:00:00Z", "2026-13-45T00:00:00Z", "0000-01-01T00:00:00Z",
               "2026-01-01T25:00:00Z", "9999-12-31T23:59:59Z", "2026-01-01T00:00:00.5Z"]
INTERESTING: list[Any] = [
    None, True, False, 0, -1, 1, 2**31, 2**53, 2**63 - 1, 2**63, 2**64, -(2**63), 1e308,
    -0.0, 0.5, "", " ", "x" * 300, "\u0000", "../../etc", "a/b", "ja", "ping", "\ud7ff",
    "é", [], {}, [[[[[]]]]], {"ja": ""}, *TIME_SHAPED,
]
RAW_INJECTIONS = [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"9" * 5000,
                  b"[" * 5000 + b"]" * 5000, b'"\\ud800"', b"1" * 30, b"-0", b"1.0e-400"]


@dataclass
class Outcome:
    accepted: bool
    reason: str = ""


@dataclass
class Tally:
    cases: int = 0
    accepted: int = 0
    crashes: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"cases": self.cases, "accepted": self.accepted,
                "rejected": self.cases - self.accepted - len(self.crashes),
                "crashes": len(self.crashes), "wrong": len(self.wrong),
                "top_reasons": dict(self.reasons.most_common(5)),
                "seconds": round(self.seconds, 2)}


class WrongResult(AssertionError):
    """An accepted input had an effect other than the one it asked for."""


class Mutator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    # -- structure-aware (JSON) ----------------------------------------------------------
    def _paths(self, obj: Any, path: tuple = ()) -> list[tuple]:
        out = [path]
        if isinstance(obj, dict):
            for k, v in obj.items():
                out += self._paths(v, (*path, k))
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                out += self._paths(v, (*path, i))
        return out

    def _value(self) -> Any:
        r = self.rng.random()
        if r < 0.6:  # a copy: a shared [] or {} mutated later would change INTERESTING
            return json.loads(json.dumps(self.rng.choice(INTERESTING)))
        if r < 0.8:
            return self.rng.randint(-10**6, 10**6)
        return "".join(chr(self.rng.randint(1, 0x2FFF)) for _ in range(self.rng.randint(0, 8)))

    def mutate_tree(self, obj: Any) -> Any:
        obj = json.loads(json.dumps(obj))
        for _ in range(self.rng.randint(1, 3)):
            paths = self._paths(obj)
            path = self.rng.choice(paths)
            if not path:
                continue
            parent = obj
            for p in path[:-1]:
                parent = parent[p]
            key = path[-1]
            op = self.rng.random()
            if op < 0.55:
                parent[key] = self._value()
            elif op < 0.7 and isinstance(parent, dict):
                del parent[key]
            elif op < 0.8 and isinstance(parent, dict):
                parent[self.rng.choice(["extra", "x", "", "0"])] = self._value()
            elif op < 0.9 and isinstance(parent, list):
                parent.insert(self.rng.randrange(len(parent) + 1),
                              json.loads(json.dumps(parent[key])))
            elif isinstance(parent[key], (int, float)) and not isinstance(parent[key], bool):
                parent[key] = parent[key] + self.rng.choice([-1, 1, 10**9, -(10**9), 0.5])
            else:
                parent[key] = self._value()
        return obj

    # -- byte level ----------------------------------------------------------------------
    def mutate_bytes(self, data: bytes) -> bytes:
        b = bytearray(data)
        for _ in range(self.rng.randint(1, 4)):
            op = self.rng.random()
            at = self.rng.randrange(len(b) + 1)
            if op < 0.3 and b:
                b[min(at, len(b) - 1)] ^= 1 << self.rng.randrange(8)
            elif op < 0.5:
                b[at:at] = bytes([self.rng.randrange(256)])
            elif op < 0.65 and b:
                del b[at:at + self.rng.randint(1, 16)]
            elif op < 0.8:
                b[at:at] = self.rng.choice(RAW_INJECTIONS)
            elif op < 0.9 and b:
                end = min(len(b), at + self.rng.randint(1, 64))
                b[at:at] = b[at:end] * self.rng.randint(2, 5)
            else:
                del b[at:]
        return bytes(b)

    def json_case(self, seed: Any) -> bytes:
        r = self.rng.random()
        if r < 0.08:
            return json.dumps(seed).encode()  # the valid seed itself, now and then
        tree = self.mutate_tree(seed) if r < 0.75 else seed
        text = json.dumps(tree, ensure_ascii=self.rng.random() < 0.3).encode()
        if r >= 0.6:
            text = self.mutate_bytes(text)
        if self.rng.random() < 0.02:
            text = text.decode("utf-8", "replace").encode(self.rng.choice(["utf-16",
                                                                            "utf-32"]))
        if self.rng.random() < 0.02:
            text = b"\xef\xbb\xbf" + text
        return text

    def text_case(self, seed: str) -> bytes:
        """TOML-like text: lines dropped, duplicated, values replaced, then bytes mutated."""
        lines = seed.splitlines()
        for _ in range(self.rng.randint(1, 3)):
            if not lines:
                break
            i = self.rng.randrange(len(lines))
            op = self.rng.random()
            if op < 0.25:
                del lines[i]
            elif op < 0.4:
                lines.insert(i, lines[i])
            elif "=" in lines[i]:
                key = lines[i].split("=", 1)[0]
                lines[i] = f"{key}= {self._toml_value()}"
        text = "\n".join(lines).encode()
        return self.mutate_bytes(text) if self.rng.random() < 0.4 else text

    def _toml_value(self) -> str:
        return self.rng.choice([
            "0", "-1", "1e400", "nan", "inf", '""', '"x"', "true", "[]", "{}", "9" * 40,
            '"../../etc"', '"2026-02-30T00:00:00+09:00"', "[1, 2, 3]", '"\\u0000"',
            "1979-05-27T07:32:00Z", "0.0001", '["a", 1]', "99999999999", '"' + "y" * 300 + '"'])


def run_target(target: Callable[[bytes], Outcome], cases: list[bytes], tally: Tally) -> Tally:
    started = time.perf_counter()
    for i, payload in enumerate(cases):
        tally.cases += 1
        try:
            outcome = target(payload)
        except WrongResult as exc:
            tally.wrong.append(f"case {i}: {exc}"[:300])
            continue
        except Exception as exc:  # noqa: BLE001 - the fuzzer's boundary: every escape is a crash
            tally.crashes.append(f"case {i}: {type(exc).__name__}: {exc}"[:300]
                                 + f" payload={payload[:120]!r}")
            continue
        if outcome.accepted:
            tally.accepted += 1
        else:
            if not outcome.reason:
                tally.crashes.append(f"case {i}: rejected without a reason")
            tally.reasons[reason_class(outcome.reason)] += 1
    tally.seconds += time.perf_counter() - started
    return tally


def reason_class(reason: str) -> str:
    """A reason without its variable parts, to count rejections by kind."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"|\d+", "_", reason)
    return text[:60]


def copy_content(dest: Path) -> Path:
    shutil.copytree(ROOT / "signage_player" / "example_content" / "sapporo", dest)
    return dest
