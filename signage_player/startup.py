"""Start-up: which content package the player plays.

`[signage] content` is installed on start when it differs from what is installed, unless
the installed package is newer (a crew or the fleet installed it after the config was
written: a restart must never roll a sign back silently). A bad configured package is
logged and the installed one keeps playing.
"""

import logging
from pathlib import Path
from typing import Any

from signage_player.config import SignageConfig
from signage_player.content import ContentError, Package, load_package
from signage_player.install import current_target, install
from signage_player.offscreen import TextCutError
from walkway.errors import InputFileError

log = logging.getLogger(__name__)


def content_public_key(cfg: SignageConfig) -> Any:
    """The configured content public key, or None (signatures not required)."""
    from signage_player.signing import load_public_key

    return None if cfg.content_public_key is None else load_public_key(cfg.content_public_key)


def ensure_content(cfg: SignageConfig) -> Package:
    """Install `cfg.content` if it is not what is current; keep the old one if it is bad, and
    keep the installed one if it is newer (a crew or the fleet installed it after the config
    was written: a restart must not roll the sign back)."""
    target = current_target(cfg.state_dir)
    current = None
    if target is not None:
        try:
            current = load_package(target)
        except ContentError as exc:
            log.error("signage: installed content is damaged: %s", exc)
    if cfg.content is not None:
        try:
            configured = _source_manifest(cfg.content)
            if current is None:
                try:
                    return _install(cfg)
                except TextCutError as exc:
                    # Nothing else to play: a sign showing a cut text (and able to show an
                    # emergency) beats a dark one. A crew's install is refused instead.
                    log.error("signage: %s; playing it anyway: no other content is installed", exc)
                    return _install(cfg, refuse_cut=False)
            if configured is None or _digest(configured) != current.digest:
                why = _installed_is_newer(current, configured, cfg.content)
                if not why:
                    return _install(cfg)
                log.warning(
                    "signage: keeping installed %s %s, not the configured %s: %s;"
                    " to go back to it, run `walkway signage install %s`",
                    current.id,
                    current.version,
                    cfg.content,
                    why,
                    cfg.content,
                )
        except ContentError as exc:
            if current is None:
                raise
            log.error(
                "signage: new content rejected, keeping %s %s: %s", current.id, current.version, exc
            )
    if current is None:
        raise InputFileError(f"{cfg.state_dir}: no content installed and no [signage] content set")
    return current


def _install(cfg: SignageConfig, refuse_cut: bool = True) -> Package:
    from signage_player.offscreen import sign_layouts

    return install(
        cfg.content,
        cfg.state_dir,
        try_render=True,
        layouts=sign_layouts(cfg),
        refuse_cut=refuse_cut,
        public_key=content_public_key(cfg),
    )


def _digest(manifest: bytes) -> str:
    import hashlib

    return hashlib.sha256(manifest).hexdigest()


def _source_manifest(source: Path) -> bytes | None:
    """manifest.json of a package folder or archive (None if it cannot be read: install
    then reports why)."""
    import tarfile
    import zipfile

    wanted = ("manifest.json",)
    try:
        if source.is_dir():
            path = source / "manifest.json"
            return path.read_bytes() if path.is_file() else None
        if source.name.lower().endswith(".zip"):
            with zipfile.ZipFile(source) as z:
                names = [
                    n for n in z.namelist() if n.split("/")[-1] in wanted and n.count("/") <= 1
                ]
                return z.read(min(names, key=len)) if names else None
        with tarfile.open(source) as t:
            members = [
                m
                for m in t.getmembers()
                if m.isfile() and m.name.split("/")[-1] in wanted and m.name.count("/") <= 1
            ]
            f = t.extractfile(min(members, key=lambda m: len(m.name))) if members else None
            return f.read() if f is not None else None
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError):
        return None


def _installed_is_newer(current: Package, configured: bytes | None, source: Path) -> str:
    """Why the installed package should stay ('' if the configured one should go in).

    The same order as `walkway signage install` (signing.version_key: 2026.11.24 <
    2026.12.1, text parts after numbers), then the manifests' `created`; manifests without
    `created` fall back to their files' modification times."""
    import json

    from signage_player.signing import created_of, version_key

    try:
        theirs_m = json.loads(configured or b"")
        other = str(theirs_m["version"])
    except (ValueError, KeyError, TypeError):
        return ""  # unreadable: install it, and let verification say what is wrong
    mine, theirs = version_key(current.version), version_key(other)
    if mine != theirs:
        return f"version {current.version} is newer than {other}" if mine > theirs else ""
    mine_created, theirs_created = created_of(current.root), theirs_m.get("created", "")
    if mine_created and isinstance(theirs_created, str) and theirs_created:
        if mine_created > theirs_created:
            return f"same version {other}, but the installed package was created later"
        return ""
    try:
        installed_at = (current.root / "manifest.json").stat().st_mtime
        source_at = (source / "manifest.json").stat().st_mtime if source.is_dir() else 0.0
        source_at = source_at or source.stat().st_mtime
    except OSError:
        return ""
    if installed_at > source_at:
        return f"same version {other}, but the installed manifest is newer"
    return ""
