"""`walkway content build|lint`: a source folder an editor works in becomes a checked package;
every mistake is one line with file, line and field, all reported at once."""

import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from signage_player.authoring.build import build, lint
from signage_player.authoring.problems import ContentSourceError
from signage_player.content import load_package
from signage_player.signing import load_public_key, verify_signature

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "tests" / "data" / "content_src"
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
ONE_SIZE = ((1920, 1080),)


@pytest.fixture
def src(tmp_path: Path) -> Path:
    dest = tmp_path / "src"
    shutil.copytree(SRC, dest)
    return dest


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), "utf-8")


def _lines(src: Path) -> list[str]:
    return [str(p) for p in lint(src, now=NOW, sizes=ONE_SIZE).items]


def _one(src: Path, *parts: str) -> str:
    lines = _lines(src)
    hits = [ln for ln in lines if all(p in ln for p in parts)]
    assert len(hits) == 1, lines
    assert "\n" not in hits[0]
    return hits[0]


def test_clean_source_builds_a_package_the_sign_accepts(src, tmp_path):
    assert _lines(src) == []
    package = build(src, tmp_path / "pkg", now=NOW, sizes=ONE_SIZE)
    again = load_package(tmp_path / "pkg")
    assert again.digest == package.digest and package.version == "2026.12.01"
    assert {s.id for s in package.scenes} >= {"events", "route", "notices", "emergency"}
    notices = package.data["data/notices.json"]["items"]
    assert len(notices) == 4  # the unapproved fifth row does not go out
    assert all("未承認" not in n["title"]["ja"] for n in notices)


def test_build_signs_with_key(src, tmp_path):
    from provisioning.content_key import create_content_key
    from signage_player.signing import load_private_key

    key = create_content_key(tmp_path / "key")
    build(src, tmp_path / "pkg", key=load_private_key(key.private), now=NOW, sizes=ONE_SIZE)
    verify_signature(tmp_path / "pkg", load_public_key(key.public))


def test_toml_syntax_error_names_the_line(src):
    _edit(src / "scenes" / "02-route.toml", 'seconds = 12', 'seconds = = 12')
    assert _one(src, "02-route.toml:3:", "expected valid TOML")


def test_missing_package_field(src):
    _edit(src / "package.toml", 'version = "2026.12.01"\n', "")
    line = _one(src, "package.toml", "version")
    assert "expected a string (required)" in line


def test_unknown_scene_type(src):
    _edit(src / "scenes" / "03-crowding.toml", 'type = "crowding"', 'type = "crowds"')
    line = _one(src, "03-crowding.toml:2:", "scene.type")
    assert "expected one of events, route" in line and "'crowds'" in line


def test_data_outside_data_table(src):
    _edit(src / "scenes" / "03-crowding.toml", 'seconds = 10', 'seconds = 10\ntitel = "x"')
    assert "data goes in [data]" in _one(src, "03-crowding.toml:4:", "scene.titel")


def test_missing_translation_in_scene(src):
    _edit(src / "scenes" / "07-notices.toml", ', ko = "지역 알림판"', "")
    assert "expected the ko text" in _one(src, "07-notices.toml:7:", "data.title.ko")


def test_missing_translation_in_csv_names_row_and_column(src):
    _edit(src / "notices.csv", ",제설 자원봉사자 모집,", ",,")
    assert "expected the ko text" in _one(src, "notices.csv:2:", "title.ko")


def test_bad_approved_flag(src):
    _edit(src / "notices.csv", "무료.\",yes", "무료.\",maybe")
    assert "expected yes or no, got 'maybe'" in _one(src, "notices.csv:3:", "approved")


def test_missing_language_strings_file(src):
    (src / "i18n" / "ko.toml").unlink()
    assert "expected the ko strings file" in _one(src, "ko.toml")


def test_unknown_location(src):
    _edit(src / "package.toml", 'location = "chikaho"', 'location = "chikaho-9"')
    assert "expected a place id from places.csv" in _one(src, "package.toml:5:", "location")


def test_text_that_will_not_fit(src):
    long = "とても長いお知らせの題名" * 8
    _edit(src / "notices.csv", "除雪ボランティア募集", long)
    line = _one(src, "notices.csv:2:", "(ja)", "fits at 1920x1080")
    assert "cut to" in line


def test_glyph_no_font_has(src):
    _edit(src / "notices.csv", "除雪ボランティア募集", "除雪ボランティア募集 \U0001fae8")
    line = _one(src, "notices.csv:2:", "U+1FAE8")
    assert "would show as a box" in line


def test_every_problem_at_once_and_nothing_written(src, tmp_path):
    _edit(src / "package.toml", 'version = "2026.12.01"\n', "")
    _edit(src / "scenes" / "03-crowding.toml", 'type = "crowding"', 'type = "crowds"')
    _edit(src / "notices.csv", "무료.\",yes", "무료.\",maybe")
    with pytest.raises(ContentSourceError) as info:
        build(src, tmp_path / "pkg", now=NOW, sizes=ONE_SIZE)
    lines = str(info.value).splitlines()
    assert len(lines) == 3, lines
    assert not (tmp_path / "pkg").exists()


def test_cli_lint_and_build(src, tmp_path):
    _edit(src / "scenes" / "03-crowding.toml", 'type = "crowding"', 'type = "crowds"')
    env = {"SDL_VIDEODRIVER": "dummy", "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "walkway", "content"]
    r = subprocess.run([*cmd, "lint", str(src), "--now", "2026-11-29T10:00:00+09:00"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "scene.type" in r.stderr
    _edit(src / "scenes" / "03-crowding.toml", 'type = "crowds"', 'type = "crowding"')
    r = subprocess.run([*cmd, "build", str(src), "--out", str(tmp_path / "pkg"),
                        "--now", "2026-11-29T10:00:00+09:00", "--size", "1920x1080"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert "built sapporo-centre 2026.12.01" in r.stdout and "unsigned" in r.stdout
