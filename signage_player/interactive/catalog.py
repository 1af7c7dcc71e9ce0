"""What a passer-by can search on the sign, built once per content package.

The package's interactive data (`manifest.json` "interactive", e.g. data/interactive.json):
  graph        the walking graph (see graph.parse_graph)
  strings      the interactive mode's own texts, {key: {lang: text}}
  categories   {category id: {lang: name}} for places and events
  places       [{"place": id, "category": id, "about": {lang: text}?}]: places and shops
  events       {"<index in the events scene's items>": {"start": ISO, "end": ISO,
                "category": id}}: dates for the "when" filter (the scene shows its own text);
               for events from a calendar feed (items with a "uid", signage_player/ics.py)
               the key is the UID instead, and the dates come from the feed: the search
               shows each event's next occurrence that has not ended, and never a past one
  courses      {"<course id>": {"surface": {lang}, "lit": bool, "winter": {lang}}}: extra
               facts for the jogging courses of the jogging scene
Events and jogging courses come from the package's events and jogging scenes, so an author
writes them once. Every problem is a ContentError naming the file and the field.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from signage_player.content import ContentError, Package
from signage_player.interactive.graph import GraphError, Route, WalkGraph, parse_graph

KINDS = ("events", "places", "routes", "jogging", "health")
WHEN = ("now", "today", "week", "all")
DISTANCES = (500, 1000, 0)  # metres; 0 = any


@dataclass(frozen=True)
class Item:
    """One search result: an event, a place or shop, a walking destination, or a course."""

    kind: str
    id: str
    place: str
    title: Any  # {lang: text}
    category: str = ""
    when: Any = None  # {lang: text}, events
    start: datetime | None = None
    end: datetime | None = None
    about: Any = None  # {lang: text}
    course: Mapping[str, Any] | None = None
    # Calendar events: every upcoming (start, end); `at(now)` picks the one to show.
    occurrences: tuple[tuple[datetime, datetime], ...] = ()
    all_day: bool = False
    timed_end: bool = True

    def at(self, now: datetime) -> "Item | None":
        """This item as of `now`: a calendar event's next occurrence that has not ended,
        with its date text in every language of its title; None once they are all over."""
        if not self.occurrences:
            return self
        from signage_player.ics import when_text

        for start, end in self.occurrences:
            if end >= now:
                shown_end = end if self.timed_end else None
                when = {lang: when_text(start, shown_end, self.all_day, lang)
                        for lang in self.title}
                return replace(self, start=start, end=end, when=when)
        return None


@dataclass(frozen=True)
class Catalog:
    package: Package
    graph: WalkGraph | None
    strings: Mapping[str, Any]
    categories: Mapping[str, Any]
    items: tuple[Item, ...]
    health: Mapping[str, Any] | None
    here: str  # the sign's place: routes start here ([signage] location, else the package's)

    def text(self, key: str, lang: str, **values: Any) -> str:
        texts = self.strings.get(key) or self.package.strings.get(key)
        if texts is None:
            raise KeyError(f"interactive string {key!r}")
        text = texts.get(lang) or texts["ja"]
        return text.format(**values) if values else text

    def of(self, kind: str) -> list[Item]:
        return [i for i in self.items if i.kind == kind]

    def find(self, kind: str, item_id: str, now: datetime | None = None) -> Item | None:
        item = next((i for i in self.items if i.kind == kind and i.id == item_id), None)
        return item.at(now) if item is not None and now is not None else item

    def route(
        self, place: str, variant: str, crowding: Mapping[frozenset, float] | None = None
    ) -> Route | None:
        here = self.here
        if self.graph is None or place == here:
            return None
        if place not in self.graph.nodes() or here not in self.graph.nodes():
            return None
        return self.graph.route(here, place, variant, crowding)

    def search(
        self,
        kind: str,
        now: datetime,
        *,
        category: str = "",
        when: str = "all",
        within_m: int = 0,
        step_free: bool = False,
    ) -> list[Item]:
        """Items of `kind` matching the filters, nearest first (places off the graph last)."""
        out = []
        for listed in self.of(kind):
            item = listed.at(now)
            if item is None:
                continue  # a calendar event whose last occurrence is over
            if category and item.category != category:
                continue
            if kind == "events" and not _when_ok(item, now, when):
                continue
            route = self.route(item.place, "step_free" if step_free else "shortest")
            if step_free and route is None and item.place != self.here:
                continue
            if within_m and (route is None or route.length_m > within_m):
                if item.place != self.here:
                    continue
            out.append((route.length_m if route else 1e9, item.id, item))
        return [i for _, _, i in sorted(out, key=lambda x: (x[0], x[1]))]


def _when_ok(item: Item, now: datetime, when: str) -> bool:
    if item.start is None or item.end is None:
        return when == "all"
    if item.end < now:
        return False  # past events are never offered
    if when == "now":
        return item.start <= now <= item.end
    if when == "today":
        day_end = now.replace(hour=23, minute=59, second=59)
        return item.start <= day_end
    if when == "week":
        return item.start <= now + timedelta(days=7)
    return True


def load_catalog(package: Package, location: str = "") -> Catalog | None:
    """The catalog of a package with interactive data, or None (the sign stays a slideshow).
    `location` is the sign's place id ([signage] location); unknown or empty: the package's."""
    if not package.interactive:
        return None
    here = location if location in package.places else package.location
    rel = package.interactive
    where = str(package.root / rel)
    raw = package.data[rel]
    if not isinstance(raw, dict):
        raise ContentError(f"{where}: expected a JSON object")
    try:
        graph = parse_graph(raw["graph"], package.places, where) if "graph" in raw else None
    except GraphError as exc:
        raise ContentError(str(exc)) from exc
    strings = _mapping(raw, "strings", where)
    categories = _mapping(raw, "categories", where)
    items: list[Item] = []
    for i, p in enumerate(raw.get("places", [])):
        at = f"{where}: places[{i}]"
        if not isinstance(p, dict) or p.get("place") not in package.places:
            raise ContentError(f"{at}.place: expected a place id from places.json")
        if p.get("category", "") and p["category"] not in categories:
            raise ContentError(f"{at}.category: expected one of {', '.join(categories)}")
        items.append(
            Item(
                "places",
                p["place"],
                p["place"],
                package.places[p["place"]]["name"],
                p.get("category", ""),
                about=p.get("about"),
            )
        )
    items += _events(package, raw.get("events", {}), categories, where)
    if graph is not None:
        for node in sorted(graph.nodes() - {here}):
            items.append(Item("routes", node, node, package.places[node]["name"]))
    items += _courses(package, raw.get("courses", {}), where)
    health = next((package.data[s.data] for s in package.scenes if s.type == "health_points"), None)
    return Catalog(package, graph, strings, categories, tuple(items), health, here)


def _mapping(raw: dict, key: str, where: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ContentError(f"{where}: {key}: expected an object")
    return value


def _events(package: Package, extra: Any, categories: Mapping, where: str) -> list[Item]:
    spec = next((s for s in package.scenes if s.type == "events"), None)
    if spec is None:
        return []
    if not isinstance(extra, dict):
        raise ContentError(f"{where}: events: expected an object keyed by item index")
    out = []
    for i, ev in enumerate(package.data[spec.data]["items"]):
        # A feed's items are sorted by date and cut to max_items at build, so an index would
        # name another event next week: their facts are keyed by UID.
        key = str(ev["uid"]) if "uid" in ev else str(i)
        facts = extra.get(key, {})
        at = f"{where}: events.{key}"
        try:
            start = datetime.fromisoformat(facts["start"]) if "start" in facts else None
            end = datetime.fromisoformat(facts["end"]) if "end" in facts else None
        except (TypeError, ValueError) as exc:
            raise ContentError(f"{at}: start/end: expected ISO dates with offset: {exc}") from exc
        if (start and start.tzinfo is None) or (end and end.tzinfo is None):
            raise ContentError(f"{at}: start/end: expected a UTC offset, e.g. +09:00")
        category = facts.get("category", ev.get("category", ""))  # a feed's CATEGORIES
        if category and category not in categories:
            raise ContentError(f"{at}.category: expected one of {', '.join(categories)}")
        place = ev.get("place", package.location)  # where the event is, not the sign
        occurrences = _occurrences(ev, at)
        if occurrences and start is None:
            start, end = occurrences[0]
        out.append(
            Item("events", f"event{i}", place, ev["title"], category, ev.get("when"), start, end,
                 occurrences=occurrences, all_day=bool(ev.get("all_day", False)),
                 timed_end=bool(ev.get("timed_end", True)))
        )
    return out


def _occurrences(ev: Mapping[str, Any], at: str) -> tuple[tuple[datetime, datetime], ...]:
    raw = ev.get("occurrences", [])
    try:
        found = tuple((datetime.fromisoformat(s), datetime.fromisoformat(e)) for s, e in raw)
    except (TypeError, ValueError) as exc:
        raise ContentError(f"{at}: occurrences: expected [start, end] ISO pairs: {exc}") from exc
    if any(s.tzinfo is None or e.tzinfo is None for s, e in found):
        raise ContentError(f"{at}: occurrences: expected a UTC offset, e.g. +09:00")
    return found


def _courses(package: Package, extra: Any, where: str) -> list[Item]:
    spec = next((s for s in package.scenes if s.type == "jogging"), None)
    if spec is None:
        return []
    if not isinstance(extra, dict):
        raise ContentError(f"{where}: courses: expected an object keyed by course id")
    out = []
    for c in package.data[spec.data]["courses"]:
        facts = {**c, **extra.get(c["id"], {})}
        title = package.places[c["place"]]["name"]
        out.append(Item("jogging", c["id"], c["place"], title, course=facts, about=c.get("why")))
    return out
