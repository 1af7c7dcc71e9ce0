"""`walkway content build` and `walkway content lint`: one pass of checks over a source
folder (source.py), then the package checks the sign makes (load_package), then every scene
laid out in every language at every size (text that will not fit) and every text checked
against the language's font (glyphs that would show as boxes). All problems at once."""

import hashlib
import json
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from signage_player.authoring.problems import Problems, text_line
from signage_player.authoring.source import Source, read_source
from signage_player.content import ContentError, Package, load_package, sha256_file

DEFAULT_SIZES = ((1920, 1080), (1080, 1920))


def write_package(src: Source, dest: Path) -> None:
    """The package files plus manifest.json with every file's sha256."""
    manifest = dict(src.manifest)
    files = {rel: hashlib.sha256(blob).hexdigest() for rel, blob in src.files.items()}
    for rel, blob in src.files.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_bytes(blob)
    for rel, source in src.copies.items():  # videos: copied and hashed in chunks
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest / rel)
        files[rel] = sha256_file(dest / rel)
    manifest["files"] = dict(sorted(files.items()))
    (dest / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")


def check(src_dir: str | Path, *, now: datetime | None = None,
          sizes: tuple[tuple[int, int], ...] = DEFAULT_SIZES) -> tuple[Source, Problems, Path]:
    """Every check; returns (source, problems, staged package folder: caller removes it)."""
    now = now or datetime.now().astimezone()
    src = read_source(src_dir, now)
    problems = src.problems
    staged = Path(tempfile.mkdtemp(prefix="walkway-content-"))
    write_package(src, staged)
    try:
        package = load_package(staged)
    except ContentError as exc:
        if not problems:  # otherwise it is most likely one already reported
            problems.add(Path(src_dir), 0, "", str(exc).replace(str(staged), "(package)"))
        return src, problems, staged
    texts = _source_texts(Path(src_dir))
    _check_fit(package, src, texts, sizes, problems)
    if package.interactive:
        from signage_player.interactive.catalog import load_catalog

        try:  # what the sign checks when a passer-by first touches it
            catalog = load_catalog(package)
        except ContentError as exc:
            problems.add(src.origin[package.interactive], 0, "",
                         str(exc).replace(f"{staged}/data/interactive.json: ", ""))
        else:
            _check_event_list(package, catalog, src, texts, sizes, now, problems)
    return src, problems, staged


def _check_event_list(package: Package, catalog: Any, src: Source,
                      texts: list[tuple[Path, str]], sizes: tuple[tuple[int, int], ...],
                      now: datetime | None, problems: Problems) -> None:
    """Event titles (a calendar feed's too) as the interactive search lists them, every
    page, language and size: a title cut there is a problem like one cut on a scene."""
    from signage_player.interactive.screens import State
    from signage_player.interactive.script import render_screen

    if not catalog.of("events"):
        return
    seen: set[str] = set()
    for lang in package.languages:
        for size in sizes:
            for page in range(len(catalog.of("events"))):
                state = State(screen="list", kind="events", when="all", page=page)
                screen = render_screen(package, state, lang, size, draw=False, now=now)
                for record in screen.overflows:
                    shown_text = " ".join(record.fit.lines).rstrip("…")
                    if shown_text in seen:
                        continue
                    seen.add(shown_text)
                    where, line = _locate(texts, src.root, shown_text[:8].strip())
                    problems.add(where, line, f"{record.name} ({lang})",
                                 f"expected text that fits the search list at"
                                 f" {size[0]}x{size[1]}; cut to {' / '.join(record.fit.lines)!r}")


def _source_texts(root: Path) -> list[tuple[Path, str]]:
    out = []
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix.lower() in (".toml", ".csv", ".ics"):
            try:
                out.append((p, p.read_text("utf-8-sig")))
            except (OSError, UnicodeDecodeError):
                continue
    return out


def _locate(texts: list[tuple[Path, str]], fallback: Path, needle: str) -> tuple[Path, int]:
    for path, text in texts:
        line = text_line(text, needle)
        if line:
            return path, line
    return fallback, 0


def _check_fit(package: Package, src: Source, texts: list[tuple[Path, str]],
               sizes: tuple[tuple[int, int], ...], problems: Problems) -> None:
    from signage_player.fonts import FontBook
    from signage_player.offscreen import render_scene

    fonts = FontBook()
    for spec in package.scenes:
        origin = src.origin.get(spec.data, src.root)
        for lang in package.languages:
            for size in sizes:
                try:
                    _, shown = render_scene(package, spec.id, lang, size, fonts=fonts, draw=False)
                except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                    problems.add(origin, 0, f"scene {spec.id}",
                                 f"cannot be shown in {lang}: {type(exc).__name__}: {exc}")
                    break
                for record in shown.overflows:
                    shown_text = " ".join(record.fit.lines).rstrip("…")
                    where, line = _locate(texts, origin, shown_text[:8].strip())
                    problems.add(where, line, f"{record.name} ({lang})",
                                 f"expected text that fits at {size[0]}x{size[1]}; cut to "
                                 f"{' / '.join(record.fit.lines)!r}")
    _check_glyphs(package, src, texts, fonts, problems)


def _translated(obj: Any, out: list[dict[str, str]]) -> list[dict[str, str]]:
    if isinstance(obj, dict):
        if "ja" in obj and all(isinstance(v, str) for v in obj.values()):
            out.append(obj)
        else:
            for v in obj.values():
                _translated(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _translated(v, out)
    return out


def _check_glyphs(package: Package, src: Source, texts: list[tuple[Path, str]], fonts: Any,
                  problems: Problems) -> None:
    """A character no installed face has (after the sign's per-glyph fallback) would show
    as a box (tofu) on the street."""
    seen: set[str] = set()
    sources = [dict(package.strings), dict(package.places), *package.data.values()]
    for table in _translated(sources, []):
        for lang in package.languages:
            text = table.get(lang, "")
            for ch in fonts.missing_glyphs(text, lang):
                if ch in seen:
                    continue
                seen.add(ch)
                where, line = _locate(texts, src.root, text[:12])
                problems.add(where, line, lang,
                             f"expected characters an installed font has; U+{ord(ch):04X} "
                             f"{ch!r} would show as a box (in {text[:30]!r})")


def lint(src_dir: str | Path, *, now: datetime | None = None,
         sizes: tuple[tuple[int, int], ...] = DEFAULT_SIZES) -> Problems:
    _, problems, staged = check(src_dir, now=now, sizes=sizes)
    shutil.rmtree(staged, ignore_errors=True)
    return problems


def build(src_dir: str | Path, out: str | Path, *, key: Any = None, now: datetime | None = None,
          sizes: tuple[tuple[int, int], ...] = DEFAULT_SIZES) -> Package:
    """Check, then write the package folder `out` (replaced whole); sign it with `key`."""
    from signage_player.signing import sign_package

    out = Path(out)
    _, problems, staged = check(src_dir, now=now, sizes=sizes)
    try:
        problems.raise_if_any()
        if out.exists() and not (out / "manifest.json").is_file():
            raise ContentError(f"{out}: exists and is not a content package; not replacing it")
        if key is not None:
            sign_package(staged, key)
        tmp = out.with_name(f".{out.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(staged, tmp)
        os.chmod(tmp, 0o755)
        if out.exists():
            shutil.rmtree(out)
        os.rename(tmp, out)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return load_package(out)
