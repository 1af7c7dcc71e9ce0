"""Content packages: a folder with `manifest.json` listing scenes, data, assets and the sha256
of every file. `load_package` verifies everything and returns an immutable in-memory Package,
so a file changed on disk later can never break what is playing.

Every problem is a ContentError with one line naming the file and the field.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from signage_player.config import LANGUAGES
from signage_player.mp4 import probe
from signage_player.package_limits import (
    MAX_JSON_BYTES,
    ContentError,
    check_image,
    check_name,
    check_no_symlinks,
)
from signage_player.schedule import Window, parse_windows
from walkway import safejson

MANIFEST = "manifest.json"
# Not listed in the manifest's files: the manifest itself and its detached signature
# (signage_player/signing.py), which covers the manifest and so every listed hash.
UNHASHED = (MANIFEST, "manifest.sig")
FORMAT = 1
SCENE_TYPES: dict[str, tuple[str, ...]] = {
    "events": ("items",),
    "route": ("routes",),
    "crowding": ("walkways", "sample"),
    "weather": ("sample", "underground"),
    "health_points": ("rules", "sample"),
    "jogging": ("courses", "sample"),
    "notices": ("items",),
    "emergency": ("sample",),
    "checkin": ("title", "lead", "how"),  # the check-in QR (scenes/checkin.py)
    "image": ("image",),  # a full-screen PNG/JPEG from assets (scenes/image.py)
    "video": ("video",),  # an H.264 MP4 from the manifest's videos (scenes/video.py)
}
KINDS = ("underground", "suburban")
HASH_FIX = "run `walkway signage hash PACKAGE_DIR` to rewrite the manifest's files"
# Strings every sign uses whatever its scenes (header, emergency); scene-specific ones are
# caught by laying every scene out at install (install(..., try_render=True)).
REQUIRED_STRINGS = ("you_are_here", "emergency_title")


@dataclass(frozen=True)
class SceneSpec:
    id: str
    type: str
    data: str
    seconds: float
    kinds: tuple[str, ...]
    windows: tuple[Window, ...]


@dataclass(frozen=True)
class Package:
    root: Path
    id: str
    version: str
    digest: str  # sha256 of manifest.json: identifies this exact package
    languages: tuple[str, ...]
    location: str
    scenes: tuple[SceneSpec, ...]
    strings: MappingProxyType
    places: MappingProxyType
    data: MappingProxyType  # data path -> parsed JSON
    assets: MappingProxyType  # asset path -> bytes
    interactive: str = ""  # data path of the interactive mode's data (see docs/signage.md)
    # video path -> mp4.VideoInfo; the file stays on disk (streamed at play, never loaded)
    videos: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def scene(self, scene_id: str) -> SceneSpec:
        for s in self.scenes:
            if s.id == scene_id:
                return s
        raise ContentError(
            f"{self.root / MANIFEST}: scenes: no scene {scene_id!r}; expected one of: "
            + ", ".join(s.id for s in self.scenes)
        )

    def text(self, key: str, lang: str) -> str:
        return self.strings[key][lang]


def _need(obj: Any, key: str, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise ContentError(f"{where}: {key}: expected {what} (required)")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ContentError(f"{where}: {key}: expected {what}, got {value!r}"[:300])
    return value


def _check_texts(obj: Any, langs: tuple[str, ...], where: str, path: str = "") -> None:
    """Every translated text (a dict with a "ja" key) must have every package language."""
    if isinstance(obj, dict):
        if "ja" in obj:
            for lang in langs:
                value = obj.get(lang)
                if not isinstance(value, str) or not value.strip():
                    raise ContentError(f"{where}: {path or '.'}: missing {lang} text")
            return
        for k, v in obj.items():
            _check_texts(v, langs, where, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _check_texts(v, langs, where, f"{path}[{i}]")


def _read_json(root: Path, rel: str) -> Any:
    return _parse_json((root / rel).read_bytes(), root / rel)


def _parse_json(raw: bytes, where: Path) -> Any:
    # Bounded size, depth and numbers: deeply nested JSON is a refused package, not a
    # RecursionError that makes the player exit (issue 18).
    try:
        return safejson.loads(raw, MAX_JSON_BYTES)
    except safejson.BadJson as exc:
        raise ContentError(f"{where}: expected valid UTF-8 JSON: {exc}") from exc


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _verify_files(root: Path, files: dict[str, Any], where: str,
                  streamed: frozenset[str] = frozenset()) -> dict[str, bytes]:
    """Every listed file's sha256; the bytes of all but `streamed` (videos: hashed in 1 MiB
    chunks and left on disk, so memory stays bounded whatever their size)."""
    blobs: dict[str, bytes] = {}
    for rel, want in sorted(files.items()):
        p = Path(rel)
        if (p.is_absolute() or ".." in p.parts or rel in UNHASHED or "\0" in rel
                or len(rel) > 255 or any(len(part) > 200 for part in p.parts)):
            raise ContentError(
                f"{where}: files: expected a relative path inside the package, got {rel!r}"
            )
        if not isinstance(want, str) or len(want) != 64:
            raise ContentError(f"{where}: files.{rel}: expected a sha256 hex digest, got {want!r}")
        target = root / rel
        if target.is_symlink() or not target.is_file():
            raise ContentError(
                f"{target}: missing file listed in manifest files; restore it, or {HASH_FIX}"
            )
        blob = b"" if rel in streamed else target.read_bytes()
        got = sha256_file(target) if rel in streamed else hashlib.sha256(blob).hexdigest()
        if got != want.lower():
            raise ContentError(
                f"{target}: sha256 mismatch: manifest says {want[:12]}…, file is {got[:12]}…;"
                f" if the edit is intended, {HASH_FIX}"
            )
        if rel not in streamed:
            blobs[rel] = blob
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and rel not in UNHASHED and rel not in files:
            raise ContentError(
                f"{p}: file not listed in manifest files (unverified content);"
                f" remove it, or {HASH_FIX}"
            )
    return blobs


def load_package(root: str | Path) -> Package:
    """Load and verify a package folder; raises ContentError with a one-line reason."""
    root = Path(root)
    where = str(root / MANIFEST)
    if not (root / MANIFEST).is_file():
        raise ContentError(f"{where}: missing manifest")
    check_no_symlinks(root)
    raw = (root / MANIFEST).read_bytes()
    m = _parse_json(raw, root / MANIFEST)
    if not isinstance(m, dict):
        raise ContentError(f"{where}: expected a JSON object")
    if m.get("format") != FORMAT:
        raise ContentError(f"{where}: format: expected {FORMAT}, got {m.get('format')!r}")
    pid = check_name(_need(m, "id", str, where, "a package id"), "id", where)
    version = check_name(_need(m, "version", str, where, "a version string"), "version", where)
    langs = tuple(_need(m, "languages", list, where, "a list of languages"))
    if not langs or langs[0] != "ja" or any(x not in LANGUAGES for x in langs):
        raise ContentError(
            f"{where}: languages: expected ja first, then any of {', '.join(LANGUAGES)},"
            f" got {list(langs)}"
        )
    files = _need(m, "files", dict, where, "an object of path -> sha256")
    video_list = m.get("videos", [])
    if not isinstance(video_list, list) or not all(isinstance(v, str) for v in video_list):
        raise ContentError(f"{where}: videos: expected a list of video paths, got"
                           f" {video_list!r}"[:300])
    blobs = _verify_files(root, files, where, frozenset(video_list))

    def listed(key: str, value: str) -> str:
        if not isinstance(value, str) or value not in files:
            raise ContentError(f"{where}: {key}: {value!r} is not in files")
        return value

    strings = _read_json(root, listed("strings", _need(m, "strings", str, where, "a path")))
    _check_texts(strings, langs, str(root / m["strings"]))
    places = _read_json(root, listed("places", _need(m, "places", str, where, "a path")))
    _check_texts(places, langs, str(root / m["places"]))
    location = _need(m, "location", str, where, "a place id")
    if location not in places:
        raise ContentError(
            f"{where}: location: expected a place id from {m['places']}, got {location!r}"
        )
    assets = {}
    for i, a in enumerate(_need(m, "assets", list, where, "a list of asset paths")):
        rel = listed(f"assets[{i}]", a)
        check_image(blobs[rel], rel, where)  # from its header, before anything decodes it
        assets[rel] = blobs[rel]
    videos = {}
    for i, v in enumerate(video_list):
        rel = listed(f"videos[{i}]", v)
        videos[rel] = probe(root / rel, rel, where)  # header only; decoded at install
    scenes, data, seen = [], {}, set()
    for i, s in enumerate(_need(m, "scenes", list, where, "a list of scenes")):
        at = f"{where}: scenes[{i}]"
        sid = _need(s, "id", str, at, "a scene id")
        if sid in seen:
            raise ContentError(f"{at}: id: expected a unique scene id, got {sid!r}")
        seen.add(sid)
        stype = _need(s, "type", str, at, "a scene type")
        if stype not in SCENE_TYPES:
            raise ContentError(
                f"{at}: type: expected one of {', '.join(SCENE_TYPES)}, got {stype!r}"
            )
        rel = listed(f"scenes[{i}].data", _need(s, "data", str, at, "a data path"))
        if rel not in data:
            data[rel] = _read_json(root, rel)
            _check_texts(data[rel], langs, str(root / rel))
        for key in SCENE_TYPES[stype]:
            if not isinstance(data[rel], dict) or key not in data[rel]:
                raise ContentError(
                    f"{root / rel}: {key}: expected a value (required by {stype} scenes)"
                )
        seconds = s.get("seconds", 10)
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 1 <= seconds <= 600
        ):
            raise ContentError(f"{at}: seconds: expected a number from 1 to 600, got {seconds!r}")
        kinds = s.get("kinds", KINDS)
        kinds = tuple(kinds) if isinstance(kinds, list | tuple) else (kinds,)
        if not kinds or any(not isinstance(k, str) or k not in KINDS for k in kinds):
            raise ContentError(f"{at}: kinds: expected a list of {', '.join(KINDS)}, got {kinds!r}")
        try:
            windows = parse_windows(s.get("schedule", []))
        except ValueError as exc:
            raise ContentError(f"{at}: schedule: {exc}") from exc
        scenes.append(SceneSpec(sid, stype, rel, float(seconds), kinds, windows))
    if not any(s.type not in ("emergency", "video") for s in scenes):
        # A video that fails at play time is skipped: something else must be left to show.
        raise ContentError(f"{where}: scenes: expected at least one scene to play that is"
                           " not a video")
    if not any(s.type == "emergency" for s in scenes):
        # Without it an emergency notice could not be shown: never accept such a package.
        raise ContentError(f"{where}: scenes: expected an emergency scene")
    interactive = ""
    if "interactive" in m:
        interactive = listed("interactive", _need(m, "interactive", str, where, "a data path"))
        if interactive not in data:
            data[interactive] = _read_json(root, interactive)
            _check_texts(data[interactive], langs, str(root / interactive))
    missing = [k for k in REQUIRED_STRINGS if k not in strings]
    if missing:
        raise ContentError(f"{root / m['strings']}: {missing[0]}: expected a string (required)")
    return Package(
        root=root,
        id=pid,
        version=version,
        digest=hashlib.sha256(raw).hexdigest(),
        languages=langs,
        location=location,
        scenes=tuple(scenes),
        strings=MappingProxyType(strings),
        places=MappingProxyType(places),
        data=MappingProxyType(data),
        assets=MappingProxyType(assets),
        interactive=interactive,
        videos=MappingProxyType(videos),
    )


def write_manifest_hashes(root: str | Path) -> dict[str, str]:
    """Content authors: recompute `files` in manifest.json for every file in the folder."""
    root = Path(root)
    m = json.loads((root / MANIFEST).read_text("utf-8"))
    files = {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).as_posix() not in UNHASHED
    }
    m["files"] = files
    (root / MANIFEST).write_text(json.dumps(m, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return files
