"""`walkway count-video` and `walkway calibrate`: output format, clear errors with exit 2."""

import json
import socket
from pathlib import Path

import pytest

from walkway.cli import main

VIDEO = Path(__file__).resolve().parent / "data" / "video"
CAMPUS = VIDEO / "TUD-Campus.mp4"
# The output format is the same for every detector; the motion detector reads the clip in
# a fraction of the time ssdlite (what "auto" picks on this eye-level clip) takes. What each
# detector counts on the real clips is tests/test_camera_accuracy.py's.
FAST = ("--detector", "motion")


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_count_video_json_has_exactly_the_documented_shape(capsys) -> None:
    code, out, _ = run(capsys, "count-video", str(CAMPUS), "--line", "0.5,0,0.5,1",
                       "--line", "0.75,0,0.75,1", "--json", *FAST)
    assert code == 0
    result = json.loads(out)
    assert set(result) == {"frames", "seconds", "lines"}
    assert result["frames"] == 71 and result["seconds"] == pytest.approx(71 / 25)
    assert [item["line"] for item in result["lines"]] == [[0.5, 0, 0.5, 1], [0.75, 0, 0.75, 1]]
    assert all(set(item) == {"line", "in", "out"} for item in result["lines"])
    assert all(isinstance(item["in"], int) and isinstance(item["out"], int)
               for item in result["lines"])


def test_count_video_without_json_prints_a_table(capsys) -> None:
    code, out, _ = run(capsys, "count-video", str(CAMPUS), "--line", "0.5,0,0.5,1", *FAST)
    assert code == 0
    assert "71 frames" in out and "0.5,0,0.5,1" in out and "in" in out.splitlines()[1]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: str(d / "missing.mp4"), "no such video file"),
        (lambda d: str(d), "expected a video file"),
        (lambda d: _junk(d), "cannot open video"),
        (lambda d: f"rtsp://127.0.0.1:{closed_port()}/cam", "cannot open video"),
    ],
    ids=["missing-file", "directory", "not-a-video", "unreachable-stream"],
)
def test_unusable_inputs_exit_2_with_one_line(tmp_path, capsys, make, message) -> None:
    code, out, err = run(capsys, "count-video", make(tmp_path), "--line", "0.5,0,0.5,1")
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def _junk(folder: Path) -> str:
    path = folder / "junk.mp4"
    path.write_bytes(b"this is not a video\n" * 10)
    return str(path)


@pytest.mark.parametrize("spec", ["0.5,0,0.5", "x,0,0.5,1", "0.5,0,0.5,2", "0.3,0.3,0.3,0.3"])
def test_a_bad_line_spec_exits_2_naming_the_flag(capsys, spec) -> None:
    code, _, err = run(capsys, "count-video", str(CAMPUS), "--line", spec)
    assert code == 2
    assert err.startswith(f"--line {spec!r}") and len(err.strip().splitlines()) == 1


def test_bad_person_size_and_missing_model_exit_2(capsys, tmp_path) -> None:
    code, _, err = run(capsys, "count-video", str(CAMPUS), "--line", "0.5,0,0.5,1",
                       "--person-size", "big")
    assert code == 2 and "--person-size" in err
    code, _, err = run(capsys, "count-video", str(CAMPUS), "--line", "0.5,0,0.5,1",
                       "--detector", "dnn", "--model", str(tmp_path / "none.onnx"))
    assert code == 2 and "--model" in err


def camera_config(tmp_path: Path, device: str, extra: str = "") -> Path:
    config = tmp_path / "node.toml"
    config.write_text(f"""
[node]
id = "n1"
site = "s1"
[store]
path = "{tmp_path / 'store.db'}"
[mqtt]
url = "mqtt://127.0.0.1:1883"
[[sources]]
type = "camera"
name = "cam"
device = "{device}"
roi = [[0.05, 0.05], [0.95, 0.05], [0.95, 0.95], [0.05, 0.95]]
{extra}
[[sources.lines]]
name = "door"
points = [0.5, 0.0, 0.5, 1.0]
in = "east"
out = "west"
""")
    return config


def test_calibrate_writes_the_one_png_a_crew_asks_for(tmp_path, capsys) -> None:
    import cv2

    out = tmp_path / "still.png"
    code, stdout, _ = run(capsys, "calibrate", "--config", str(camera_config(tmp_path, CAMPUS)),
                          "--out", str(out))
    assert code == 0 and "wrote" in stdout
    image = cv2.imread(str(out))
    assert image.shape == (480, 640, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node.toml", "still.png"]


def test_calibrate_learn_shows_the_learnt_person_size(tmp_path, capsys) -> None:
    import cv2

    from simulator.camera_scene import Scene, SceneSpec, write_video

    scene = Scene(SceneSpec(view="oblique", width=384, height=288, fps=7, seconds=80, seed=5))
    clip = tmp_path / "walkway.mp4"
    write_video(scene, str(clip))
    out = tmp_path / "still.png"
    code, stdout, _ = run(capsys, "calibrate", "--config", str(camera_config(tmp_path, clip)),
                          "--out", str(out), "--learn", "80")
    assert code == 0 and "person size (learnt from" in stdout, stdout
    bottom = stdout.split("row ")[-1]  # "0.83: 0.072 x 0.134 of the frame ..."
    height = float(bottom.split(" x ")[1].split()[0])
    row = float(bottom.split(":")[0])
    expected = scene.person_size[1] * (scene.far_scale + (1 - scene.far_scale) * row)
    assert height == pytest.approx(expected, rel=0.2)
    assert cv2.imread(str(out)).shape == (288, 384, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node.toml", "still.png", "walkway.mp4"]
    code, stdout, _ = run(capsys, "calibrate", "--config", str(camera_config(tmp_path, CAMPUS)),
                          "--out", str(out), "--learn", "2")
    assert code == 0 and "not learnt yet" in stdout  # 3 s of people in groups


def test_calibrate_errors_are_one_line_exit_2(tmp_path, capsys) -> None:
    config = camera_config(tmp_path, CAMPUS)
    code, _, err = run(capsys, "calibrate", "--config", str(config), "--out", "x.jpg")
    assert code == 2 and ".png" in err
    code, _, err = run(capsys, "calibrate", "--config", str(config), "--out",
                       str(tmp_path / "a.png"), "--source", "other")
    assert code == 2 and "no camera source named 'other'" in err
    broken = camera_config(tmp_path, tmp_path / "gone.mp4")
    code, _, err = run(capsys, "calibrate", "--config", str(broken), "--out",
                       str(tmp_path / "a.png"))
    assert code == 2 and "cannot open" in err and not (tmp_path / "a.png").exists()
