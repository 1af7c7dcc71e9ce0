"""What tests/support/lazyfs.py keeps: the page caches of unsynced data, and the undo
journal of metadata operations with `recover`, which undoes what was never made durable."""

import json
import os
from pathlib import Path

PAGE = 4096
JOURNAL = "journal.jsonl"
TRASH = "trash"


class PageCache:
    """One file's unsynced state: dirty pages over the backing file, and its size."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.size = os.fstat(fd).st_size
        self.pages: dict[int, bytearray] = {}
        self.zero_from = self.size  # after a truncate, what lies beyond reads as zeros

    def _page(self, index: int) -> bytearray:
        page = self.pages.get(index)
        if page is not None:
            return page
        raw = os.pread(self.fd, PAGE, index * PAGE)
        page = bytearray(raw.ljust(PAGE, b"\0"))
        cut = self.zero_from - index * PAGE
        if cut < PAGE:
            page[max(cut, 0):] = bytes(PAGE - max(cut, 0))
        return page

    def read(self, size: int, offset: int) -> bytes:
        end = min(offset + size, self.size)
        out = bytearray()
        pos = offset
        while pos < end:
            index, within = divmod(pos, PAGE)
            take = min(PAGE - within, end - pos)
            out += self._page(index)[within:within + take]
            pos += take
        return bytes(out)

    def write(self, data: bytes, offset: int) -> int:
        pos, view = offset, memoryview(data)
        while view:
            index, within = divmod(pos, PAGE)
            take = min(PAGE - within, len(view))
            page = self._page(index)
            page[within:within + take] = view[:take]
            self.pages[index] = page
            view, pos = view[take:], pos + take
        self.size = max(self.size, offset + len(data))
        return len(data)

    def truncate(self, length: int) -> None:
        for index in [i for i in self.pages if i * PAGE >= length]:
            del self.pages[index]
        tail = self.pages.get(length // PAGE)
        if tail is not None:
            tail[length % PAGE:] = bytes(PAGE - length % PAGE)
        self.zero_from = min(self.zero_from, length)
        self.size = length

    def sync(self) -> None:
        if self.zero_from < os.fstat(self.fd).st_size:
            os.ftruncate(self.fd, self.zero_from)
        for index, page in sorted(self.pages.items()):
            start = index * PAGE
            if start < self.size:
                os.pwrite(self.fd, bytes(page[:min(PAGE, self.size - start)]), start)
        os.ftruncate(self.fd, self.size)
        os.fsync(self.fd)
        self.pages.clear()
        self.zero_from = self.size


class Journal:
    """Write-ahead undo log of metadata operations, outside the backing directory."""

    def __init__(self, state: Path) -> None:
        self.path = state / JOURNAL
        self.trash = state / TRASH
        self.trash.mkdir(parents=True, exist_ok=True)
        self.entries = read_journal(self.path)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.serial = len(self.entries)

    def add(self, entry: dict) -> dict:
        self.serial += 1
        entry = {"n": self.serial, **entry}
        os.write(self.fd, (json.dumps(entry) + "\n").encode())
        os.fsync(self.fd)  # before the operation: a cut in between must still be undone
        self.entries.append(entry)
        return entry

    def trash_path(self) -> str:
        return str(self.trash / f"{self.serial + 1}")

    def commit_dir(self, directory: str) -> None:
        committed = [e["n"] for e in self.entries if not e.get("done")
                     and directory in dirs_touched(e)]
        if not committed:
            return
        self.add({"op": "commit", "ids": committed})
        for entry in self.entries:
            if entry["n"] in committed:
                entry["done"] = True
                if entry.get("trash"):
                    remove(entry["trash"])


def dirs_touched(entry: dict) -> set[str]:
    return {os.path.dirname(entry[k]) for k in ("path", "src", "dst") if k in entry}


def read_journal(path: Path) -> list[dict]:
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    done = {n for e in entries if e["op"] == "commit" for n in e["ids"]}
    kept = [e for e in entries if e["op"] != "commit"]
    for entry in kept:
        entry["done"] = entry["n"] in done
    return kept


def remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        for name in os.listdir(path):
            remove(os.path.join(path, name))
        os.rmdir(path)
    elif os.path.lexists(path):
        os.unlink(path)


def recover(backing: Path, state: Path) -> int:
    """After a cut: undo every metadata operation not made durable, newest first; empty the
    journal. Returns how many were undone. (The lost page caches need no undoing.)"""
    entries = read_journal(state / JOURNAL)
    undone = 0
    for entry in reversed(entries):
        if entry["done"]:
            remove(entry.get("trash") or "")
            continue
        undone += 1
        op = entry["op"]
        if op == "create":
            remove(os.path.join(backing, entry["path"]))
        elif op == "unlink":
            if os.path.lexists(entry["trash"]):
                os.replace(entry["trash"], os.path.join(backing, entry["path"]))
        elif op == "rename":
            src, dst = (os.path.join(backing, entry[k]) for k in ("src", "dst"))
            if os.path.lexists(dst) and not os.path.lexists(src):
                os.replace(dst, src)
            if entry.get("trash") and os.path.lexists(entry["trash"]):
                os.replace(entry["trash"], dst)
    (state / JOURNAL).unlink(missing_ok=True)
    return undone
