"""Where controls go on an interactive screen, from the panel's size and pixel density.

- Touch targets are at least 20 mm on each side at the configured screen size (ISO 9241-9 and
  the Japanese JIS X 8341 guidance ask for 9-20 mm; a public panel touched with a glove takes
  the upper end), and never smaller than two lines of body text.
- Every control sits below `reach_from` of the screen height (default 0.4): a wheelchair user
  reaches the lower part of a wall-mounted panel (ISO 21542 puts controls 0.4-1.2 m above the
  floor); information may use the whole screen.
- The navigation bar (home, back, the four languages, large text) is at the bottom of every
  screen, in the same place, so a person who lost their way always finds it.
"""

import math
from dataclasses import dataclass

from signage_player.canvas import Box
from signage_player.scenes.common import header_height_for
from signage_player.style import Metrics

TARGET_MM = 20.0


@dataclass(frozen=True)
class Button:
    """A touchable area: `id` is also its name for scripted presses (e.g. "open:events")."""

    id: str
    box: Box
    selected: bool = False

    def hit(self, x: int, y: int) -> bool:
        bx, by, bw, bh = self.box
        return bx <= x < bx + bw and by <= y < by + bh


@dataclass(frozen=True)
class Layout:
    metrics: Metrics
    reach_from: float

    @property
    def target(self) -> int:
        m = self.metrics
        return max(math.ceil(TARGET_MM * m.px_per_mm), int(m.role("body")[0] * 2.2))

    @property
    def gap(self) -> int:
        return max(6, self.metrics.margin // 2)

    @property
    def header(self) -> Box:
        """The scenes' header bar (scenes.common.draw_header paints it)."""
        return (0, 0, self.metrics.width, header_height_for(self.metrics))

    @property
    def nav_rows(self) -> int:
        """Portrait panels are narrow: the bar takes two rows (actions; languages)."""
        return 2 if self.metrics.portrait else 1

    @property
    def nav(self) -> Box:
        m = self.metrics
        h = self.nav_rows * (self.target + self.gap) + self.gap
        return (0, m.height - h, m.width, h)

    @property
    def reach_y(self) -> int:
        return max(self.header[3], int(self.metrics.height * self.reach_from))

    @property
    def info(self) -> Box:
        """Above the reach line: information only."""
        m, pad = self.metrics, self.metrics.margin
        top = self.header[3] + pad // 2
        return (pad, top, m.width - 2 * pad, self.reach_y - top - pad // 2)

    @property
    def controls(self) -> Box:
        """Between the reach line and the navigation bar: where controls may go."""
        m, pad = self.metrics, self.metrics.margin
        bottom = self.nav[1] - self.gap
        return (pad, self.reach_y, m.width - 2 * pad, bottom - self.reach_y)

    def row(self, box: Box, ids: list[str], widths: list[int] | None = None) -> list[Button]:
        """Buttons side by side filling `box`'s width (one target high), in order."""
        x, y, w, _ = box
        n = max(1, len(ids))
        cell = (w - self.gap * (n - 1)) // n
        return [
            Button(i, (x + k * (cell + self.gap), y, cell, self.target)) for k, i in enumerate(ids)
        ]

    def flow(self, box: Box, items: list[tuple[str, int]]) -> list[Button]:
        """Chips of given text widths, wrapped onto as many rows as needed, left to right."""
        x0, y, w, _ = box
        x, out = x0, []
        for bid, tw in items:
            bw = min(w, max(self.target, tw + 2 * self.metrics.margin))
            if x > x0 and x + bw > x0 + w:
                x, y = x0, y + self.target + self.gap
            out.append(Button(bid, (x, y, bw, self.target)))
            x += bw + self.gap
        return out

    def grid(self, box: Box, ids: list[str], cols: int, row_h: int) -> list[Button]:
        """As many rows of `cols` as fit in `box`; the rest is for the next page."""
        x, y, w, h = box
        rows = max(1, (h + self.gap) // (row_h + self.gap))
        cw = (w - self.gap * (cols - 1)) // cols
        out = []
        for k, bid in enumerate(ids[: rows * cols]):
            r, c = divmod(k, cols)
            out.append(
                Button(bid, (x + c * (cw + self.gap), y + r * (row_h + self.gap), cw, row_h))
            )
        return out

    def per_page(self, box: Box, cols: int, row_h: int) -> int:
        return max(1, (box[3] + self.gap) // (row_h + self.gap)) * cols
