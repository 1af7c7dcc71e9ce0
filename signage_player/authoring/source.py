"""Read an editor's content source folder into a package: manifest plus JSON files.

Layout (docs/content.md):
  package.toml          id, version, languages, location, timezone
  places.csv            id, name.<lang>..., x, y, label
  i18n/<lang>.toml      key = "text", one file per language
  scenes/<name>.toml    [scene] type, seconds, kinds, schedule (id: the file name)
                        [data]  the scene's data; `items_from = "x.csv"` or "events.ics"
  interactive.json      optional: the interactive sign's data (docs/signage.md), as is
  assets/...            images, listed and hashed as they are; videos (.mp4), copied
                        as files (never read whole) and listed in the manifest's videos
Problems are collected, never raised one at a time.
"""

import csv
import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from signage_player.authoring.problems import Problems, key_line
from signage_player.config import LANGUAGES
from signage_player.content import SCENE_TYPES

SCENE_KEYS = ("type", "seconds", "kinds", "schedule")
TRUE, FALSE = ("yes", "y", "true", "1", "x"), ("no", "n", "false", "0", "")
NUMBER = re.compile(r"-?\d+(\.\d+)?")
VIDEO_SUFFIXES = (".mp4", ".m4v")


@dataclass
class Source:
    root: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # package path -> bytes
    origin: dict[str, Path] = field(default_factory=dict)  # package data path -> source file
    copies: dict[str, Path] = field(default_factory=dict)  # package path -> source (videos)
    refused: set[str] = field(default_factory=set)  # videos already reported as problems
    problems: Problems = field(default_factory=Problems)


def _toml(path: Path, problems: Problems) -> tuple[dict[str, Any] | None, str]:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(path, 0, "", f"expected a readable UTF-8 TOML file ({exc})")
        return None, ""
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        problems.add(path, int(m.group(1)) if m else 0, "", f"expected valid TOML: {exc}")
        return None, text


def read_csv(path: Path, langs: tuple[str, ...], problems: Problems) -> list[dict[str, Any]]:
    """Rows as dicts; `title.ja` columns nest; an `approved` column keeps only approved rows."""
    rows: list[dict[str, Any]] = []
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        problems.add(path, 0, "", f"expected a readable CSV file ({exc})")
        return rows
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        translated = sorted({c.partition(".")[0] for c in header if "." in c})
        for base in translated:
            for lang in langs:
                if f"{base}.{lang}" not in header:
                    problems.add(path, 1, f"{base}.{lang}", f"expected a column for {lang} text")
        try:
            for raw in reader:
                line = reader.line_num
                row = _row(path, line, raw, langs, translated, problems)
                if row is not None:
                    rows.append(row)
        except (csv.Error, UnicodeDecodeError) as exc:
            problems.add(path, reader.line_num, "", f"expected valid UTF-8 CSV ({exc})")
    return rows


def _row(path: Path, line: int, raw: dict[str, Any], langs: tuple[str, ...],
         translated: list[str], problems: Problems) -> dict[str, Any] | None:
    if None in raw:
        problems.add(path, line, "", f"expected {len(raw) - 1} columns, got more")
        return None
    if "approved" in raw:
        flag = (raw.pop("approved") or "").strip().lower()
        if flag not in TRUE + FALSE:
            problems.add(path, line, "approved", f"expected yes or no, got {flag!r}")
            return None
        if flag in FALSE:
            return None
    row: dict[str, Any] = {}
    for col, value in raw.items():
        value = (value or "").strip()
        base, dot, lang = col.partition(".")
        if dot:
            if lang in langs and not value:
                problems.add(path, line, col, f"expected the {lang} text (empty)")
            row.setdefault(base, {})[lang] = value
        elif value:
            row[col] = float(value) if NUMBER.fullmatch(value) and "." in value else (
                int(value) if NUMBER.fullmatch(value) else value)
    return row


def read_source(root: str | Path, now: datetime) -> Source:
    """The package described by folder `root`; check `.problems` before using it."""
    src = Source(Path(root))
    p = src.problems
    meta, meta_text = _toml(src.root / "package.toml", p)
    if meta is None:
        return src
    where = src.root / "package.toml"
    for key, kind in (("id", str), ("version", str), ("languages", list), ("location", str)):
        if not isinstance(meta.get(key), kind):
            what = "a list of languages" if kind is list else "a string"
            p.add(where, key_line(meta_text, key), key, f"expected {what} (required)")
    langs = tuple(meta.get("languages") or ("ja",))
    if langs[0] != "ja" or any(x not in LANGUAGES for x in langs):
        p.add(where, key_line(meta_text, "languages"), "languages",
              f"expected ja first, then any of {', '.join(LANGUAGES)}, got {list(langs)}")
        langs = ("ja",)
    src.manifest = {
        "format": 1, "id": meta.get("id"), "version": meta.get("version"),
        "created": now.astimezone().strftime("%Y-%m-%dT%H:%M:%S%z"),
        "languages": list(langs), "location": meta.get("location"),
        "strings": "i18n/strings.json", "places": "data/places.json", "assets": [], "scenes": [],
    }
    _strings(src, langs)
    places = _places(src, langs)
    if isinstance(meta.get("location"), str) and places and meta["location"] not in places:
        p.add(where, key_line(meta_text, "location"), "location",
              f"expected a place id from places.csv, got {meta['location']!r}")
    for asset in sorted((src.root / "assets").rglob("*")) if (src.root / "assets").is_dir() else []:
        if not asset.is_file():
            continue
        rel = asset.relative_to(src.root).as_posix()
        if asset.suffix.lower() in VIDEO_SUFFIXES:
            _video(src, asset, rel)
        else:
            src.files[rel] = asset.read_bytes()
            src.manifest["assets"].append(rel)
    _scenes(src, langs, places, str(meta.get("timezone", "Asia/Tokyo")), now)
    interactive = src.root / "interactive.json"
    if interactive.is_file():
        try:
            json.loads(interactive.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            src.problems.add(interactive, getattr(exc, "lineno", 0), "",
                             f"expected valid UTF-8 JSON ({exc})")
        else:
            src.files["data/interactive.json"] = interactive.read_bytes()
            src.origin["data/interactive.json"] = interactive
            src.manifest["interactive"] = "data/interactive.json"
    return src


def _video(src: Source, path: Path, rel: str) -> None:
    """A video from its header (codec, size, length) and its first frame decoded; one line
    naming the file when it will not play, and it is left out of the package."""
    from signage_player.mp4 import BadVideo, probe
    from signage_player.video import VideoError, check_decodes

    try:
        check_decodes(probe(path, rel, str(path)))
    except BadVideo as exc:
        src.problems.add(path, 0, "video", exc.reason)
    except VideoError as exc:
        src.problems.add(path, 0, "video", f"expected an H.264 MP4 that decodes ({exc})")
    else:
        src.copies[rel] = path
        src.manifest.setdefault("videos", []).append(rel)
        return
    src.refused.add(rel)


def _strings(src: Source, langs: tuple[str, ...]) -> None:
    strings: dict[str, dict[str, str]] = {}
    texts: dict[str, tuple[Path, str]] = {}
    for lang in langs:
        path = src.root / "i18n" / f"{lang}.toml"
        if not path.is_file():
            src.problems.add(path, 0, "", f"expected the {lang} strings file (package language)")
            continue
        table, text = _toml(path, src.problems)
        texts[lang] = (path, text)
        for key, value in (table or {}).items():
            if not isinstance(value, str) or not value.strip():
                src.problems.add(path, key_line(text, key), key, "expected a non-empty string")
                continue
            strings.setdefault(key, {})[lang] = value
    for key, by_lang in sorted(strings.items()):
        for lang in langs:
            if lang not in by_lang and lang in texts:
                src.problems.add(texts[lang][0], 0, key,
                                 f"expected a {lang} translation (ja has one)")
    src.files["i18n/strings.json"] = _json(strings)
    src.origin["i18n/strings.json"] = src.root / "i18n" / "ja.toml"


def _places(src: Source, langs: tuple[str, ...]) -> dict[str, Any]:
    path = src.root / "places.csv"
    places: dict[str, Any] = {}
    for row in read_csv(path, langs, src.problems) if path.is_file() else []:
        pid = row.pop("id", None)
        if not isinstance(pid, str) or not pid:
            src.problems.add(path, 0, "id", "expected a place id in every row")
            continue
        if "x" in row and "y" in row:
            row["xy"] = [row.pop("x"), row.pop("y")]
        places[pid] = row
    if not path.is_file():
        src.problems.add(path, 0, "", "expected places.csv (id, name.<lang>..., x, y, label)")
    src.files["data/places.json"] = _json(places)
    src.origin["data/places.json"] = path
    return places


def _scenes(src: Source, langs: tuple[str, ...], places: dict[str, Any], zone: str,
            now: datetime) -> None:
    from signage_player.ics import events_from_ics

    for path in sorted((src.root / "scenes").glob("*.toml")):
        table, text = _toml(path, src.problems)
        if table is None:
            continue
        scene, data = table.get("scene"), table.get("data", {})
        if not isinstance(scene, dict):
            src.problems.add(path, 0, "scene", "expected a [scene] table with type (required)")
            continue
        stype = scene.get("type")
        if stype not in SCENE_TYPES:
            src.problems.add(path, key_line(text, "type"), "scene.type",
                             f"expected one of {', '.join(SCENE_TYPES)}, got {stype!r}")
            continue
        unknown = sorted(set(scene) - set(SCENE_KEYS))
        for key in unknown:
            src.problems.add(path, key_line(text, key), f"scene.{key}",
                             f"expected only {', '.join(SCENE_KEYS)} here (data goes in [data])")
        sid = path.stem.split("-", 1)[-1] if re.match(r"\d+-", path.stem) else path.stem
        items_from = data.pop("items_from", None) if isinstance(data, dict) else None
        if items_from is not None:
            feed = src.root / str(items_from)
            if not feed.is_file():
                src.problems.add(path, key_line(text, "items_from"), "data.items_from",
                                 f"expected an existing .csv or .ics file, got {items_from!r}")
            elif feed.suffix.lower() == ".ics":
                data["items"] = events_from_ics(feed, langs, places, data, zone, now,
                                                src.problems)
            else:
                data["items"] = read_csv(feed, langs, src.problems)
            data.pop("distance_m", None) if feed.suffix.lower() == ".ics" else None
            data.pop("max_items", None)
        for key in SCENE_TYPES[stype]:
            if key not in data:
                src.problems.add(path, key_line(text, "data"), f"data.{key}",
                                 f"expected a value (required by {stype} scenes)")
        if stype == "video" and not _video_scene(src, path, text, data):
            continue  # left out, so the package checks after this do not report it again
        _missing_texts(data, langs, path, text, src.problems)
        rel = f"data/{sid}.json"
        src.files[rel] = _json(data)
        src.origin[rel] = path
        entry = {"id": sid, "type": stype, "data": rel,
                 **{k: scene[k] for k in SCENE_KEYS[1:] if k in scene}}
        src.manifest["scenes"].append(entry)


def _video_scene(src: Source, path: Path, text: str, data: Any) -> bool:
    from signage_player.video import options

    ok = True
    video = data.get("video") if isinstance(data, dict) else None
    if video in src.refused:
        ok = False  # its file is already reported
    elif "video" in data and video not in src.copies:
        src.problems.add(path, key_line(text, "video"), "data.video",
                         f"expected an .mp4 file under assets/, got {video!r}")
        ok = False
    try:
        options(data)
    except ValueError as exc:
        key = str(exc).partition(":")[0]
        src.problems.add(path, key_line(text, key), f"data.{key}",
                         str(exc).partition(": ")[2])
        ok = False
    return ok and "video" in data


def _missing_texts(obj: Any, langs: tuple[str, ...], path: Path, text: str,
                   problems: Problems, at: str = "data") -> None:
    """A translated text (a table with a ja key) must have every package language."""
    if isinstance(obj, dict):
        if "ja" in obj:
            for lang in langs:
                if not isinstance(obj.get(lang), str) or not obj[lang].strip():
                    problems.add(path, key_line(text, at.rpartition(".")[2]), f"{at}.{lang}",
                                 f"expected the {lang} text")
            return
        for k, v in obj.items():
            _missing_texts(v, langs, path, text, problems, f"{at}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _missing_texts(v, langs, path, text, problems, f"{at}[{i}]")


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
