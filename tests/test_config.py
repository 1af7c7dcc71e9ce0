"""`walkway config validate`: silent and 0 when valid; one precise line per problem, exit 2."""

from pathlib import Path

import pytest

from edge.config import load_config
from walkway.cli import main

VALID = """
[node]
id = "chikaho-n1"
site = "sapporo"
[store]
path = "edge.db"
[mqtt]
url = "mqtt://127.0.0.1:1883"
[[sources]]
type = "replay"
name = "replay"
path = "counts.csv"
speed = 0
"""


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    (tmp_path / "counts.csv").write_text("time,sensor,direction,count\n")
    return tmp_path


def validate(path: Path, capsys) -> tuple[int, list[str], str]:
    code = main(["config", "validate", str(path)])
    out, err = capsys.readouterr()
    return code, err.splitlines(), out


def test_valid_config_is_silent(node_dir: Path, capsys) -> None:
    path = node_dir / "node.toml"
    path.write_text(VALID)
    assert validate(path, capsys) == (0, [], "")
    config = load_config(path)
    assert config.store.bin_seconds == 60
    assert config.store.path == node_dir / "edge.db"  # relative to the config file
    assert config.mqtt.host == "127.0.0.1" and config.mqtt.port == 1883 and not config.mqtt.tls
    assert config.sources[0].options.path == node_dir / "counts.csv"
    assert len(config.sha256) == 64


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('id = "chikaho-n1"', 'id = "Chikaho_N1"',
         "node.id: expected a node id matching [a-z0-9-]{1,40}, got 'Chikaho_N1'"),
        ('id = "chikaho-n1"\n', "", "node.id: expected a node id (required)"),
        ('url = "mqtt://127.0.0.1:1883"', 'url = "http://x"',
         "mqtt.url: expected an mqtt:// or mqtts:// URL with a host, got 'http://x'"),
        ('path = "edge.db"', 'path = "edge.db"\nbin_seconds = "60"',
         "store.bin_seconds: expected an integer, got '60'"),
        ('path = "edge.db"', 'path = "edge.db"\nbin_seconds = 0',
         "store.bin_seconds: expected an integer >= 1 and <= 86400, got 0"),
        ('type = "replay"', 'type = "lidar9000"',
         "sources[0].type: expected one of replay, camera, ble, tfluna, maxbotix, wxt530, "
         "got 'lidar9000'"),
        ('path = "counts.csv"', 'path = "missing.csv"',
         "sources[0].path: expected an existing file"),
        ("speed = 0", "speed = -1", "sources[0].speed: expected a number >= 0, got -1"),
        ('site = "sapporo"', 'site = "sapporo"\nlocation = "x"',
         "node.location: unknown key; expected one of: id, site"),
        ("[mqtt]", "[mqttt]", "mqtt: expected a table (required)"),
        ('url = "mqtt://127.0.0.1:1883"', 'url = "mqtts://broker.example:8883"',
         "tls: expected a [tls] section (ca_file, cert_file, key_file)"),
    ],
)
def test_each_problem_is_one_precise_line(node_dir: Path, capsys, old, new, expected) -> None:
    assert old in VALID
    path = node_dir / "node.toml"
    path.write_text(VALID.replace(old, new, 1))
    code, lines, out = validate(path, capsys)
    assert code == 2 and out == ""
    assert any(line.startswith(str(path)) and expected in line for line in lines), lines


def test_all_problems_reported_at_once(node_dir: Path, capsys) -> None:
    path = node_dir / "node.toml"
    path.write_text(VALID.replace('"chikaho-n1"', '"BAD ID"').replace("speed = 0", "speed = 'x'"))
    code, lines, _ = validate(path, capsys)
    assert code == 2 and len(lines) == 2
    assert "node.id" in lines[0] and "sources[0].speed" in lines[1]


def test_unreadable_and_malformed_files(tmp_path: Path, capsys) -> None:
    code, lines, _ = validate(tmp_path / "nope.toml", capsys)
    assert code == 2 and lines == [f"{tmp_path / 'nope.toml'}: cannot read config: "
                                   "No such file or directory"]
    bad = tmp_path / "bad.toml"
    bad.write_text("[node\nid=")
    code, lines, _ = validate(bad, capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"{bad}: expected valid TOML")


def test_daemons_validate_the_same_way(node_dir: Path, capsys) -> None:
    path = node_dir / "node.toml"
    path.write_text(VALID.replace('"chikaho-n1"', '"x y"'))
    for argv in (["edge", "run", "--config", str(path)], ["bridge", "run", "--config", str(path)]):
        assert main(argv) == 2
        assert "node.id: expected a node id" in capsys.readouterr().err
