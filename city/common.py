"""What the pages share: the time window of a request and the place it names."""

from dataclasses import dataclass

from city.figures import DAY, HOUR, latest_hour, local_label
from city.web import HttpError, Request
from walkway.places import Place

DAY_CHOICES = ("1", "7", "28", "365")


@dataclass(frozen=True)
class Window:
    since: int
    until: int  # exclusive: the end of the latest hour with data
    days: int


def window(request: Request, default_days: int = 7) -> Window | None:
    """`?days=N` back from the latest hour with data (None: nothing collected yet)."""
    try:
        days = int(request.arg("days", str(default_days)))
    except ValueError:
        raise HttpError(400, "days: expected a whole number of days") from None
    if not 1 <= days <= 366:
        raise HttpError(400, f"days: expected 1 to 366, got {days}")
    last = latest_hour(request.app.storage)
    if last is None:
        return None
    until = last + HOUR
    return Window(until - days * DAY, until, days)


def place_named(request: Request, place_id: str) -> Place:
    place = request.app.model.places.get(place_id)
    if place is None:
        raise HttpError(404, f"no such place: {place_id}")
    return place


def when(request: Request, epoch: float, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return local_label(epoch, request.app.model, fmt)


NO_DATA = "<p class=error id=nodata>No counts collected yet: nothing to show.</p>"
