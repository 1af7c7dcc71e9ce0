"""Canary, then the rest; a group rolled back when a sign reports the new package failing.

Behind `walkway fleet publish-content` (docs/content.md#distribution). The controller lives
on the publishing side, not in the collector: it needs the content signing key to re-point
signs, and that key stays with the content editors, never on an always-on server.

1. Chunks for every target site, then each canary sign's pointer (naming the package it
   replaces as `previous`, which stays on the broker for a rollback).
2. Wait up to `wait_s` for each canary's report on .../content/state for *this* pointer
   (its sha256 and issued_at): `playing`/`installed` pass, `refused`/`failed` fail.
   One failure: every canary is re-pointed at its previous package (`rollback`), the rest
   are never touched, and the command says so (exit 4). A canary that does not report in
   time: the rest are not published (exit 3); nothing is rolled back on silence.
3. The rest's pointers; with `watch_s`, their reports are awaited too and one failure rolls
   the whole group back. Signs that stay silent (offline) are listed: they will fetch
   whatever their retained pointer names when they return.
4. Chunks no pointer names any more are cleared from the broker.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cloud_bridge.content_dist import (
    PACKAGE_FIELDS,
    Publisher,
    canary_split,
    clear_unreferenced,
    content_status,
    pointer,
    publish_chunks,
    publish_pointers,
    state_topic,
)

GOOD = ("playing", "installed")
BAD = ("refused", "failed")
Sign = tuple[str, str]


@dataclass
class Outcome:
    reports: dict[Sign, dict[str, Any]]
    silent: list[Sign]

    @property
    def failed(self) -> dict[Sign, dict[str, Any]]:
        return {s: r for s, r in self.reports.items() if r.get("state") in BAD}


def _name(sign: Sign) -> str:
    return f"{sign[0]}/{sign[1]}"


class Rollout:
    def __init__(self, pub: Publisher, key: Any, *, clock: Callable[[], float] = time.time,
                 say: Callable[[str], None] = print) -> None:
        self.pub, self.key, self.clock, self.say = pub, key, clock, say

    def run(self, ref: dict[str, Any], archive: bytes, targets: list[Sign], *,
            canary: float | None = None, wait_s: float = 600.0, watch_s: float = 0.0,
            rollback: bool = False) -> int:
        rows = {(r["site"], r["node"]): r for r in content_status(self.pub)}
        previous = {s: self._previous(rows.get(s, {}), ref) for s in targets}
        publish_chunks(self.pub, {s for s, _ in targets}, ref, archive)
        first = canary_split(targets, canary)
        rest = [s for s in targets if s not in first]
        what = f"{ref['id']} {ref['version']}"
        sent = self._point(first, ref, previous, rollback)
        self.say(f"published {what} ({ref['size']} bytes, {ref['chunks']} chunks) to "
                 f"{len(first)} sign(s): {', '.join(map(_name, first))}"
                 + (f"; {len(rest)} left for after the canary" if rest else ""))
        if canary is not None:  # (even when the canary is the whole group)
            outcome = self.wait(sent, wait_s)
            self._report("canary", outcome)
            if outcome.failed:
                self._roll_back(first, previous, outcome)
                return self._finish(targets, 4)
            if outcome.silent:
                self.say(f"canary: no report from {', '.join(map(_name, outcome.silent))} "
                         f"within {wait_s:g} s; the other {len(rest)} sign(s) were not "
                         "published (run the command again)")
                return self._finish(targets, 3)
            if not rest:
                return self._finish(targets, 0)
            sent = self._point(rest, ref, previous, rollback)
            self.say(f"published {what} to the other {len(rest)} sign(s): "
                     f"{', '.join(map(_name, rest))}")
        if watch_s > 0:
            outcome = self.wait(sent, watch_s)
            self._report("watch", outcome)
            if outcome.failed:
                self._roll_back(targets, previous, outcome)
                return self._finish(targets, 4)
        return self._finish(targets, 0)

    @staticmethod
    def _previous(row: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any] | None:
        """What the new pointer replaces, for a rollback: of the sign's current pointer and
        the one that one replaced, the package the sign reports installed (a pointer it
        refused is no place to go back to); the current one when it never reported."""
        current = row.get("published")
        if not isinstance(current, dict):
            return None
        candidates = [current, current.get("previous")]
        installed = ((row.get("state") or {}).get("installed") or {}).get("sha256")
        if installed is not None:
            candidates = [c for c in candidates if isinstance(c, dict)
                          and c.get("sha256") == installed]
        chosen = candidates[0] if candidates else None
        if isinstance(chosen, dict) and chosen.get("sha256") == ref["sha256"]:
            chosen = chosen.get("previous")  # re-publishing what it has: keep its previous
        if not isinstance(chosen, dict) or any(k not in chosen for k in PACKAGE_FIELDS):
            return None
        return {k: chosen[k] for k in PACKAGE_FIELDS}

    def _point(self, signs: list[Sign], ref: dict[str, Any],
               previous: dict[Sign, dict[str, Any] | None], rollback: bool
               ) -> dict[Sign, dict[str, Any]]:
        now = self.clock()
        sent = {s: pointer(ref, self.key, now, to=s, previous=previous[s], rollback=rollback)
                for s in signs}
        publish_pointers(self.pub, sent)
        return sent

    def wait(self, sent: dict[Sign, dict[str, Any]], timeout: float) -> Outcome:
        """Each sign's final report for the pointer sent to it, or silence by the deadline."""
        reports: dict[Sign, dict[str, Any]] = {}
        changed = threading.Condition()
        filters = [state_topic(*s) for s in sent]

        def sink(topic: str, payload: bytes) -> None:
            import json

            parts = topic.split("/")
            sign = (parts[2], parts[3]) if len(parts) == 6 else None
            try:
                body = json.loads(payload)
            except ValueError:
                return
            if sign not in sent or not isinstance(body, dict):
                return
            ptr = body.get("pointer") or {}
            mine = sent[sign]
            if (ptr.get("sha256"), ptr.get("issued_at")) != (mine["sha256"], mine["issued_at"]):
                return  # a report about an earlier pointer (retained)
            if body.get("state") in GOOD + BAD:
                with changed:
                    reports[sign] = body
                    changed.notify_all()

        deadline = time.monotonic() + timeout
        self.pub.watch(filters, sink)
        try:
            with changed:
                while len(reports) < len(sent) and time.monotonic() < deadline:
                    changed.wait(min(1.0, max(0.0, deadline - time.monotonic())))
                got = dict(reports)
        finally:
            self.pub.unwatch(filters)
        return Outcome(got, sorted(s for s in sent if s not in got))

    def _report(self, phase: str, outcome: Outcome) -> None:
        for sign, r in sorted(outcome.reports.items()):
            reason = f": {r['reason']}" if r.get("reason") else ""
            self.say(f"{phase}: {_name(sign)} {r['state']}{reason}")

    def _roll_back(self, group: list[Sign], previous: dict[Sign, dict[str, Any] | None],
                   outcome: Outcome) -> None:
        bad = ", ".join(f"{_name(s)} {r['state']}" for s, r in sorted(outcome.failed.items()))
        now = self.clock()
        back: dict[Sign, dict[str, Any]] = {}
        for sign in group:
            prev = previous[sign]
            if prev is None:
                self.say(f"rollback: {_name(sign)} has no previous package on the broker; "
                         "left as it is")
                continue
            back[sign] = pointer(prev, self.key, now, to=sign, rollback=True)
        publish_pointers(self.pub, back)
        for sign, p in sorted(back.items()):
            self.say(f"rolled back {_name(sign)} to {p['id']} {p['version']} ({bad})")

    def _finish(self, targets: list[Sign], status: int) -> int:
        cleared = clear_unreferenced(self.pub, {s for s, _ in targets})
        if cleared:
            self.say(f"cleared retained chunks no pointer names: {', '.join(cleared)}")
        return status
