"""The sign's side of content distribution, inside `walkway bridge run` (docs/content.md).

The bridge follows this sign's retained pointer (walkway/v1/{site}/{node}/content): when it
names a package the sign does not have, the bridge fetches the chunks, checks the sha256
the signed pointer names, runs `walkway signage install` on the archive (which checks the
package's own signature and refuses older versions unless the pointer says `rollback`),
then watches the player's heartbeat for `[content_fetch] probation_s`, and reports every
step on .../content/state (retained). Nobody has to run a command; a sign that was offline
gets the retained pointer when it reconnects and catches up.

Bounded memory and bandwidth: the bridge subscribes to one chunk topic at a time (the broker
then sends exactly that retained message), writes it at its offset in a `.part` file and
unsubscribes before asking for the next, so at most one chunk is ever in memory; a token
bucket (`max_kib_s`, one chunk of burst) decides when the next one may be asked for. A
sidecar file records how many chunks are on disk (fsynced first), so a restarted bridge
resumes where it stopped instead of starting over.

Install runs as a process (`walkway signage install`), not an import: the bridge may not
import the signage player (docs/DEVELOPING.md, layers), and a hung or crashing install
then cannot take the uplink with it.
"""

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloud_bridge.content_dist import (
    ContentDistError,
    chunk_topic,
    pointer_topic,
    state_topic,
    verify_pointer,
)
from cloud_bridge.content_fetch_config import content_fetch_config
from edge.health_config import health_config
from walkway import safejson
from walkway.files import write_atomic
from walkway.signage_state.player import read_heartbeat
from walkway.timeutil import iso_z

log = logging.getLogger(__name__)
INBOX = "content-inbox"  # under [signage] state_dir
RECORD = "fetch.json"
INSTALLED = re.compile(r"^installed (\S+) (\S+) \(([0-9a-f]+)\)$")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")
PROGRESS_EVERY_S = 5.0
POLL_S = 0.25
WORKING = object()  # _report's default: the pointer being worked on


class TokenBucket:
    """`rate` bytes per second, at most `capacity` saved up."""

    def __init__(self, rate: float, capacity: float, clock: Callable[[], float]) -> None:
        self.rate, self.capacity, self.clock = rate, capacity, clock
        self.tokens, self.at = capacity, clock()

    def take(self, n: float) -> bool:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < n:
            return False
        self.tokens -= n
        return True


@dataclass
class Job:
    ptr: dict[str, Any]
    part: Path
    next: int = 0  # chunks 0..next-1 are on disk
    topic: str | None = None  # the one chunk topic subscribed to now
    asked_at: float = 0.0

    def size_of(self, i: int) -> int:
        return min(self.ptr["chunk"], self.ptr["size"] - i * self.ptr["chunk"])


@dataclass
class Install:
    ptr: dict[str, Any]
    proc: subprocess.Popen
    log: Path
    started: float
    player_alive: bool  # the player's heartbeat was fresh before the install


@dataclass
class Probation:
    ptr: dict[str, Any]
    digest: str
    until: float


class ContentFetcher:
    def __init__(self, config: Any, link: Any, public_key: Any, *,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.config, self.link, self.key = config, link, public_key
        self.clock, self.monotonic = clock, monotonic
        self.site, self.node = config.node.site, config.node.id
        self.settings = content_fetch_config(config)
        self.state_dir = Path(config.section("signage").state_dir)
        self.inbox = self.state_dir / INBOX
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.pointer_topic = pointer_topic(self.site, self.node)
        self.state_topic = state_topic(self.site, self.node)
        self.bucket = TokenBucket(self.settings.max_kib_s * 1024, 0, monotonic)
        self.record = self._load_record()
        self.job: Job | None = None
        self.install: Install | None = None
        self.probation: Probation | None = None
        self.pending: dict[str, Any] | None = None  # a pointer that came during an install
        self.unsent: bytes | None = None
        self.last_progress = float("-inf")
        self.asked = self.paced = 0  # chunk requests made, and held back by the bucket
        self.last_poll = float("-inf")

    # -- persistence ---------------------------------------------------------------------
    def _load_record(self) -> dict[str, Any]:
        try:
            body = json.loads((self.inbox / RECORD).read_text("utf-8"))
            return body if isinstance(body, dict) else {}
        except (OSError, ValueError):
            return {}

    def _save_record(self) -> None:
        write_atomic(self.inbox / RECORD, json.dumps(self.record))

    # -- MQTT ----------------------------------------------------------------------------
    def on_connected(self) -> None:
        self.link.subscribe(self.pointer_topic, qos=1)
        if self.job is not None:
            self.job.topic = None  # a new connection has no subscriptions: ask again

    def handles(self, topic: str) -> bool:
        return topic == self.pointer_topic or (self.job is not None and topic == self.job.topic)

    def on_message(self, topic: str, payload: bytes) -> None:
        try:
            if topic == self.pointer_topic:
                self._on_pointer(payload)
            elif self.job is not None and topic == self.job.topic:
                self._on_chunk(payload)
        except OSError as exc:
            self._disk_problem(exc)

    def _disk_problem(self, exc: OSError) -> None:
        """A full or read-only disk must not take the bridge (and the counts) down: the
        download is dropped, reported, and tried again on the next pointer or restart."""
        ptr = self.job.ptr if self.job is not None else None
        try:
            self._drop_job()
        except OSError:
            self.job = None
        self._report("fetching", f"{self.inbox}: cannot write the package ({exc.strerror or exc});"
                     " free space on the data partition, then restart walkway-bridge", ptr)

    def _on_pointer(self, payload: bytes) -> None:
        if not payload:
            return  # a cleared pointer: keep playing what plays
        try:
            ptr = verify_pointer(safejson.loads(payload, 16384), self.key, self.site, self.node)
        except (ValueError, ContentDistError) as exc:
            self._final("refused", str(exc).splitlines()[0], None)
            return
        handled = self.record.get("handled") or {}
        if ptr["issued_at"] < str(handled.get("issued_at", "")):
            self._final("refused", f"content pointer: issued_at {ptr['issued_at']} is before "
                        f"the one already handled ({handled['issued_at']}): a replay; refused",
                        ptr, handled=False)
            return
        if (ptr["sha256"], ptr["issued_at"]) == (handled.get("sha256"), handled.get("issued_at")):
            return  # done already (the retained pointer again after a reconnect)
        if self.install is not None:
            self.pending = ptr  # never kill an install half-way; this one comes next
            return
        for work in (self.job, self.probation):
            if work is not None and work.ptr["sha256"] == ptr["sha256"]:
                work.ptr = self.record["working"] = ptr  # the same package re-published:
                return  # carry on (and report on the new pointer)
        self._start(ptr)

    def _start(self, ptr: dict[str, Any]) -> None:
        self._drop_job()
        self.probation = None
        self.record["working"] = ptr
        archive = self._archive(ptr)
        installed = self.record.get("installed") or {}
        if installed.get("sha256") == ptr["sha256"]:
            # Already what this sign has (a rollback to it, or a re-publish): nothing to do
            # but confirm that the player shows it.
            self._probation(ptr, str(installed.get("digest", "")),
                            player_alive=self._player_alive())
            return
        if archive.is_file():
            self._install(ptr, archive)
            return
        for old in self.inbox.glob(".part-*"):
            if not old.name.startswith(f".part-{ptr['sha256']}"):
                old.unlink(missing_ok=True)  # one download at a time on disk, too
        job = Job(ptr, self.inbox / f".part-{ptr['sha256']}")
        job.next = self._resume(job)
        self.job = job
        self.bucket.capacity = ptr["chunk"]
        self.bucket.tokens = max(self.bucket.tokens, ptr["chunk"])  # one chunk at once
        self._report("fetching", f"{job.next} of {ptr['chunks']} chunks on disk")

    def _resume(self, job: Job) -> int:
        """Chunks already on disk from an earlier run of the bridge (0 for a fresh start)."""
        try:
            side = json.loads(job.part.with_suffix(".json").read_text("utf-8"))
            done = int(side["next"]) if side.get("sha256") == job.ptr["sha256"] else 0
        except (OSError, ValueError, KeyError, TypeError):
            done = 0
        if done and job.part.is_file() and job.part.stat().st_size == job.ptr["size"]:
            log.info("content: resuming %s at chunk %d of %d", job.ptr["id"], done,
                     job.ptr["chunks"])
            return min(done, job.ptr["chunks"])
        with job.part.open("wb") as f:
            f.truncate(job.ptr["size"])
        return 0

    def _on_chunk(self, payload: bytes) -> None:
        job = self.job
        assert job is not None and job.topic is not None
        self.link.unsubscribe(job.topic)
        job.topic = None
        if not payload:
            self._report("fetching", f"chunk {job.next} of {job.ptr['chunks']} is not on the "
                         "broker (cleared); waiting for it")
            job.asked_at = self.monotonic()
            return
        want = job.size_of(job.next)
        if len(payload) != want:
            self._fail_job(f"package {job.ptr['id']} {job.ptr['version']}: chunk {job.next}: "
                           f"expected {want} bytes, got {len(payload)} (damaged); refused")
            return
        with job.part.open("r+b") as f:
            f.seek(job.next * job.ptr["chunk"])
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())  # before the sidecar says it is there
        job.next += 1
        write_atomic(job.part.with_suffix(".json"),
                     json.dumps({"sha256": job.ptr["sha256"], "next": job.next}), durable=False)
        if job.next == job.ptr["chunks"]:
            self._complete(job)
        elif self.monotonic() - self.last_progress >= PROGRESS_EVERY_S:
            self._report("fetching", f"{job.next} of {job.ptr['chunks']} chunks on disk")

    def _complete(self, job: Job) -> None:
        digest = hashlib.sha256()
        with job.part.open("rb") as f:
            for block in iter(lambda: f.read(1 << 16), b""):
                digest.update(block)
        if digest.hexdigest() != job.ptr["sha256"]:
            self._fail_job(f"package {job.ptr['id']} {job.ptr['version']}: sha256 of the "
                           "received chunks does not match the signed pointer (tampered or "
                           "damaged); refused")
            return
        archive = self._archive(job.ptr)
        os.replace(job.part, archive)
        job.part.with_suffix(".json").unlink(missing_ok=True)
        self.job = None
        self._install(job.ptr, archive)

    def _fail_job(self, reason: str) -> None:
        job = self.job
        assert job is not None
        self._drop_job()
        self._final("refused", reason, job.ptr)

    def _drop_job(self) -> None:
        if self.job is not None:
            if self.job.topic is not None:
                self.link.unsubscribe(self.job.topic)
            self.job.part.unlink(missing_ok=True)
            self.job.part.with_suffix(".json").unlink(missing_ok=True)
        self.job = None

    def _archive(self, ptr: dict[str, Any]) -> Path:
        return self.inbox / f"{ptr['sha256']}.tar.gz"

    # -- install and probation -----------------------------------------------------------
    def _install(self, ptr: dict[str, Any], archive: Path) -> None:
        argv = [sys.executable, "-m", "walkway", "signage", "install", str(archive),
                "--config", str(self.config.file)]
        if ptr.get("rollback"):
            argv.append("--rollback")
        out = self.inbox / "install.log"
        with out.open("wb") as f:
            proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        self.install = Install(ptr, proc, out, self.monotonic(), self._player_alive())
        self._report("installing", " ".join(["walkway signage install", *argv[8:]]).strip())

    def _poll_install(self) -> None:
        inst = self.install
        assert inst is not None
        rc = inst.proc.poll()
        if rc is None:
            if self.monotonic() - inst.started <= self.settings.install_timeout_s:
                return
            inst.proc.kill()
            inst.proc.wait()
            self.install = None
            self._final("refused", f"walkway signage install did not finish within "
                        f"{self.settings.install_timeout_s:g} s", inst.ptr)
        else:
            self.install = None
            lines = [x.strip() for x in inst.log.read_text("utf-8", "replace").splitlines()]
            said = [x for x in lines if x and not LOG_LINE.match(x)]
            done = INSTALLED.match(said[-1]) if rc == 0 and said else None
            if done is None:
                self._final("refused", said[-1] if said else f"install exited {rc}", inst.ptr)
            else:
                self.record["installed"] = {"sha256": inst.ptr["sha256"], "id": done[1],
                                            "version": done[2], "digest": done[3],
                                            "at": iso_z(self.clock())}
                self._save_record()  # a bridge restarted during the probation knows it
                self._prune(keep={inst.ptr["sha256"], *self._previous_sha(inst.ptr)})
                self._probation(inst.ptr, done[3], inst.player_alive)
        if self.pending is not None:
            ptr, self.pending = self.pending, None
            self._start(ptr)

    @staticmethod
    def _previous_sha(ptr: dict[str, Any]) -> set[str]:
        prev = ptr.get("previous")
        return {str(prev.get("sha256"))} if isinstance(prev, dict) else set()

    def _prune(self, keep: set[str]) -> None:
        """The inbox keeps the installed archive and the one before it (a rollback then needs
        no download); older ones go."""
        for f in self.inbox.glob("*.tar.gz"):
            if f.name.removesuffix(".tar.gz") not in keep:
                f.unlink(missing_ok=True)

    def _player_alive(self) -> bool:
        beat = read_heartbeat(self.state_dir)
        stale = health_config(self.config).signage_stale_s
        return beat is not None and self.clock() - float(beat["at"]) <= stale

    def _probation(self, ptr: dict[str, Any], digest: str, player_alive: bool) -> None:
        if not player_alive:
            self._final("installed", "no fresh heartbeat from the player before the install:"
                        " not confirmed on screen", ptr)
            return
        self.probation = Probation(ptr, digest, self.monotonic() + self.settings.probation_s)
        self._report("checking", f"installed; the player must show it for "
                     f"{self.settings.probation_s:g} s")

    def _poll_probation(self) -> None:
        p = self.probation
        assert p is not None
        beat = read_heartbeat(self.state_dir)
        stale = health_config(self.config).signage_stale_s
        what = f"{p.ptr['id']} {p.ptr['version']}"
        age = self.clock() - float(beat["at"]) if beat is not None else float("inf")
        shows = ((beat or {}).get("content") or {}).get("digest", "")
        if age > stale:
            self.probation = None
            self._final("failed", f"frame watchdog: no heartbeat from the player for "
                        f"{age:.0f} s after installing {what}", p.ptr)
        elif self.monotonic() >= p.until:
            self.probation = None
            if shows and p.digest.startswith(shows[:12]):
                self._final("playing", "", p.ptr)
            else:
                self._final("failed", f"the player still shows {shows or 'nothing'} "
                            f"{self.settings.probation_s:g} s after installing {what}", p.ptr)

    # -- the loop ------------------------------------------------------------------------
    def tick(self) -> None:
        try:
            self._tick()
        except OSError as exc:
            self._disk_problem(exc)

    def _tick(self) -> None:
        if self.unsent is not None and self.link.publish(self.state_topic, self.unsent,
                                                         qos=1, retain=True):
            self.unsent = None
        now = self.monotonic()
        if now - self.last_poll >= POLL_S:  # the install and player.json, not every step
            self.last_poll = now
            if self.install is not None:
                self._poll_install()
            if self.probation is not None:
                self._poll_probation()
        job = self.job
        if job is None or not self.link.connected:
            return
        if job.topic is not None:
            if self.monotonic() - job.asked_at > self.settings.chunk_timeout_s:
                self.link.unsubscribe(job.topic)
                job.topic = None
                self._report("fetching", f"chunk {job.next} of {job.ptr['chunks']} not "
                             f"delivered within {self.settings.chunk_timeout_s:g} s; asking again")
            return
        if not self.bucket.take(job.size_of(job.next)):
            self.paced += 1
            return
        job.topic = chunk_topic(self.site, job.ptr["sha256"], job.next)
        job.asked_at = self.monotonic()
        self.asked += 1
        self.link.subscribe(job.topic, qos=1)

    # -- reports -------------------------------------------------------------------------
    def _final(self, state: str, reason: str, ptr: dict[str, Any] | None,
               handled: bool = True) -> None:
        if ptr is not None and handled:
            self.record["handled"] = {"sha256": ptr["sha256"], "issued_at": ptr["issued_at"]}
            self.record.pop("working", None)
        if state in ("refused", "failed"):
            log.error("content: %s: %s", state, reason)
            self.record["failure"] = {"state": state, "reason": reason, "at": iso_z(self.clock()),
                                      "pointer": _brief(ptr)}
        self._report(state, reason, ptr)
        self._save_record()

    def _report(self, state: str, reason: str = "", ptr: Any = WORKING) -> None:
        ptr = self.record.get("working") if ptr is WORKING else ptr
        beat = read_heartbeat(self.state_dir) if self._player_alive() else None
        body = {"v": 1, "type": "content-state", "site": self.site, "node": self.node,
                "at": iso_z(self.clock()), "state": state, "reason": reason,
                "pointer": _brief(ptr), "installed": self.record.get("installed"),
                "playing": (beat or {}).get("content"), "failure": self.record.get("failure")}
        if self.job is not None:
            body["progress"] = [self.job.next, self.job.ptr["chunks"]]
        self.last_progress = self.monotonic()
        log.info("content: %s %s", state, reason)
        self.unsent = json.dumps(body).encode()
        if self.link.publish(self.state_topic, self.unsent, qos=1, retain=True):
            self.unsent = None

    def close(self) -> None:
        if self.install is not None:
            self.install.proc.kill()
            self.install.proc.wait()


def _brief(ptr: dict[str, Any] | None) -> dict[str, Any] | None:
    if ptr is None:
        return None
    return {k: ptr.get(k) for k in ("id", "version", "sha256", "issued_at", "rollback")}
