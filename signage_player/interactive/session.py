"""One passer-by's visit to the interactive mode: state, taps, the idle timeout, and the
anonymous counts it leaves behind.

The playlist is the attract loop. A touch anywhere opens the home screen; no touch for
`idle_timeout_s` (default 45 s) returns the sign to the playlist, and a new touch starts a new
visit from the home screen in the sign's first language: nothing of one visitor is shown to the
next. Nothing of a visit is kept but three kinds of counts, added to the edge store as source
"signage" like proof of play when the visit ends (`ui.sessions`, `ui.screen.<name>`,
`ui.qr` for each QR code shown): no sequence, no times, no taps.
"""

import logging
from collections import Counter, OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from signage_player.interactive.layout import Button
from signage_player.interactive.screens import Env, Screen, State, paint

log = logging.getLogger(__name__)
RECENT_SCREENS = 3  # painted screens kept per visit (back and forth is instant); ~8 MB each


@dataclass
class Visit:
    """The interactive mode while someone uses it (None in the player when nobody does)."""

    env: Env
    started: float
    last_touch: float
    state: State = field(default_factory=State)
    history: list[State] = field(default_factory=list)
    screens: Counter = field(default_factory=Counter)
    qr_shown: int = 0
    _recent: OrderedDict = field(default_factory=OrderedDict)
    _key: tuple | None = None

    def screen(self) -> Screen:
        """The current screen, painted only when the state, language or mode changed."""
        key = (self.state, self.env.lang, self.env.large, self.env.now.date())
        screen = self._recent.get(key)
        if screen is None:
            screen = self._recent[key] = paint(self.env, self.state)
            while len(self._recent) > RECENT_SCREENS:
                self._recent.popitem(last=False)
        self._recent.move_to_end(key)
        if key != self._key:  # counted once per showing, however it was painted
            self._key = key
            self.screens[self.state.screen] += 1
            self.qr_shown += bool(screen.qr)
        return screen

    def idle(self, t: float, timeout_s: float) -> bool:
        return t - self.last_touch >= timeout_s

    def tap(self, x: int, y: int, t: float) -> Button | None:
        """A touch at pixel (x, y): acts on the button under it (or nothing)."""
        self.last_touch = t
        for b in self.screen().buttons:
            if b.hit(x, y):
                self.press(b.id, t)
                return b
        return None

    def press(self, target: str, t: float) -> bool:
        """Act on a named target (a button id); False when this screen has no such button."""
        self.last_touch = t
        if target not in {b.id for b in self.screen().buttons}:
            return False
        key, _, value = target.partition(":")
        s = self.state
        if key == "home":
            self.history.clear()
            self.state = State()
        elif key == "back":
            self.state = self.history.pop() if self.history else State()
        elif key == "lang":
            self.env = replace(self.env, lang=value)
        elif key == "large":
            self.env = replace(self.env, large=not self.env.large)
        elif key == "open":
            self._go(State(screen="health" if value == "health" else "list", kind=value))
        elif key == "item":
            self._go(
                State(
                    screen="detail",
                    kind=s.kind,
                    item=value,
                    step_free=s.step_free,
                    variant="step_free" if s.step_free else "shortest",
                )
            )
        elif key == "course":
            self._go(State(screen="course", kind="jogging", item=value, condition=s.condition))
        elif key == "variant":
            self.state = replace(s, variant=value)
        elif key == "condition":
            self.state = replace(s, condition=value, page=0)
        elif key == "when":
            self.state = replace(s, when=value, page=0)
        elif key == "category":
            self.state = replace(s, category=value, page=0)
        elif key == "within":
            self.state = replace(s, within_m=int(value), page=0)
        elif key == "stepfree":
            self.state = replace(s, step_free=not s.step_free, page=0)
        elif key == "page":
            self.state = replace(s, page=max(0, s.page + (1 if value == "next" else -1)))
        return True

    def _go(self, state: State) -> None:
        self.history.append(self.state)
        del self.history[:-20]  # bounded: back goes at most 20 screens
        self.state = state

    def counts(self) -> dict[str, int]:
        """What the visit leaves behind: counts only (see the module docstring)."""
        out = {"ui.sessions": 1, "ui.qr": self.qr_shown}
        out.update({f"ui.screen.{k}": v for k, v in sorted(self.screens.items())})
        return {k: v for k, v in out.items() if v}


def record_visit(store: Any, t: float, visit: Visit) -> bool:
    """Add a finished visit's counts to the edge store (source "signage", like proof of play)."""
    if store is None:
        return False
    from signage_player.proof import SOURCE
    from walkway.errors import StoreError

    try:
        from walkway.records import Batch, Observation

        obs = [Observation(t, SOURCE, k, v) for k, v in visit.counts().items()]
        store.commit_batch(SOURCE, Batch(observations=obs, measurements=[], watermark=t))
    except StoreError as exc:
        log.warning("signage: interaction counts not recorded: %s", exc)
        return False
    return True
