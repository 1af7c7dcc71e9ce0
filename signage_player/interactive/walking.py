"""Minutes, steps and kcal for a route, with the basis shown on the sign.

The flat-walking constants are the sign's one set, in signage_player.i18n (80 m per minute,
the Japanese "徒歩N分" standard; 0.7 m stride; 3.5 METs x 60 kg x 1.05). A route adds what a
flat distance cannot say:
- stairs are climbed at 0.5 m/s along the flight and cost 8.0 METs (Compendium of Physical
  Activities, Ainsworth et al. 2011, code 17130, stair climbing); steps on stairs count too;
- a lift costs its wait (graph.LIFT_WAIT_S) at rest, and neither a lift nor an escalator
  counts steps.
Figures are for a reference adult and shown rounded with their basis: an estimate, not a
measurement of the person in front of the sign (the sign knows nothing about them).
"""

from dataclasses import dataclass

from signage_player.i18n import BODY_KG, STRIDE_M, WALK_METS
from signage_player.interactive.graph import Route

STAIRS_METS = 8.0
KCAL_FACTOR = 1.05  # as signage_player.i18n.walk_kcal


@dataclass(frozen=True)
class WalkFigures:
    minutes: int
    steps: int
    kcal: int


def figures(route: Route) -> WalkFigures:
    stairs_s = sum(e.seconds() for e in route.edges if e.kind == "stairs")
    walk_s = sum(e.seconds() for e in route.edges if e.kind not in ("stairs", "lift"))
    kcal = BODY_KG * (WALK_METS * walk_s + STAIRS_METS * stairs_s) / 3600.0 * KCAL_FACTOR
    walked = sum(e.length_m for e in route.edges if e.kind not in ("lift", "escalator"))
    return WalkFigures(
        minutes=max(1, round(route.seconds / 60.0)),
        steps=int(round(walked / STRIDE_M, -1)),
        kcal=max(1, round(kcal)),
    )


def course_kcal(mets: float, minutes: float) -> int:
    """A jogging course at `mets` for `minutes` (reference body mass, gross energy)."""
    return round(BODY_KG * mets * minutes / 60.0 * KCAL_FACTOR)
