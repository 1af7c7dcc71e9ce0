"""walkway.files.write_atomic: the one way every package replaces a file."""

import os
import stat
from pathlib import Path

import pytest

from walkway.files import PRIVATE_FILE, write_atomic, write_private


def test_replaces_whole_files_with_the_mode_asked_for(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "notice.json"
    write_atomic(target, '{"ja": "避難してください"}')
    assert target.read_text("utf-8") == '{"ja": "避難してください"}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    write_private(target, b"secret")
    assert target.read_bytes() == b"secret"
    assert stat.S_IMODE(target.stat().st_mode) == PRIVATE_FILE
    assert sorted(p.name for p in target.parent.iterdir()) == ["notice.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path,
                                                             monkeypatch) -> None:
    target = tmp_path / "node.toml"
    write_atomic(target, "old")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["node.toml"]
