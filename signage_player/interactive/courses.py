"""Jogging courses and "today's condition": easy / moderate / hard mapped to an intensity.

Intensity bands follow the ACSM's Guidelines for Exercise Testing and Prescription (11th ed.):
moderate 64-76 % of maximal heart rate, vigorous 77-95 %; METs from the Compendium of Physical
Activities (Ainsworth 2011: brisk walking 5.0, jogging general 7.0, running 6 mph 9.8).
The line of science shown with each choice is short, cites its source and is the same for
every person: the sign asks nothing about the person.
"""

from dataclasses import dataclass

CONDITIONS = ("easy", "moderate", "hard")


@dataclass(frozen=True)
class Intensity:
    condition: str
    mets: float
    hr_low: int  # % of maximal heart rate
    hr_high: int
    pace_min_per_km: float
    science: str  # i18n string key
    source: str


INTENSITIES = {
    "easy": Intensity("easy", 5.0, 57, 63, 10.0, "science_easy", "ACSM 2021; Ainsworth 2011"),
    "moderate": Intensity("moderate", 7.0, 64, 76, 7.5, "science_moderate", "WHO 2020; ACSM 2021"),
    "hard": Intensity("hard", 9.8, 77, 90, 6.0, "science_hard", "ACSM 2021; Ainsworth 2011"),
}


def rank(courses: list[dict], condition: str, winter: bool) -> list[dict]:
    """Courses for today's condition: those of that intensity first, then the nearest ones;
    in winter, courses not kept clear of snow and ice are left out."""
    want = CONDITIONS.index(condition)
    usable = [c for c in courses if not winter or c.get("winter_ok", False)]
    return sorted(
        usable,
        key=lambda c: (abs(CONDITIONS.index(c.get("intensity", "moderate")) - want), c["km"]),
    )


def is_winter(month: int) -> bool:
    """Sapporo keeps snow on the ground from December to March."""
    return month in (12, 1, 2, 3)


def minutes_for(course: dict, condition: str) -> int:
    return round(float(course["km"]) * INTENSITIES[condition].pace_min_per_km)
