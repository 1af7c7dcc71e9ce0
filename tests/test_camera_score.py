"""Scoring against ground truth: our reference rule reproduces gt_crossings.py's counts and
events (counts.json), event matching pairs within 1 s, and `count-video --gt` reports it."""

import json
from pathlib import Path

import pytest

from sensors.camera.geometry import crossing_events
from sensors.camera.score import load_mot, match, score_line, summary
from walkway.cli import main
from walkway.errors import InputFileError

VIDEO = Path(__file__).resolve().parent / "data" / "video"
CAVIAR = VIDEO / "caviar"


@pytest.mark.parametrize("clip", ["OneLeaveShop1cor", "OneLeaveShop1front"])
def test_reference_events_are_those_of_gt_crossings(clip: str) -> None:
    folder = CAVIAR / clip
    counts = json.loads((folder / "counts.json").read_text())
    w, h = counts["size"]
    tracks = load_mot(folder / counts["gt"])
    for item in counts["lines"]:
        x1, y1, x2, y2 = (float(v) for v in item["line"].split(","))
        events = crossing_events(tracks, (x1 * w, y1 * h, x2 * w, y2 * h))
        assert sorted(f"id{t}@{f}:{d}" for t, f, d in events) == sorted(item["events"])
        assert sum(d == "in" for *_, d in events) == item["in"]
        assert sum(d == "out" for *_, d in events) == item["out"]


def test_matching_pairs_closest_first_within_the_tolerance() -> None:
    assert match([1.0, 1.1], [1.05], 1.0) == 1  # one reference matches one count
    assert match([1.0, 5.0], [1.9, 4.5], 1.0) == 2
    assert match([1.0], [2.01], 1.0) == 0
    assert match([], [1.0], 1.0) == 0


def test_score_line_counts_tp_fp_fn_and_leaves_out_named_events() -> None:
    tracks = {1: [(1, (0.0, 5.0)), (11, (10.0, 5.0))], 2: [(21, (10.0, 5.0)), (31, (0.0, 5.0))]}
    line = (5.0, 0.0, 5.0, 10.0)  # vertical, drawn downwards: left-to-right is "in"
    score = score_line(tracks, line, [(0.45, "in"), (3.0, "in")], fps=25.0)
    assert score.reference == {"in": 1, "out": 1} and (score.tp, score.fp, score.fn) == (1, 1, 1)
    skipped = score_line(tracks, line, [(0.45, "in")], 25.0, ignore=["id2@31:out"])
    assert skipped.reference == {"in": 1, "out": 0} and skipped.ignored == ["id2@31:out"]
    total = summary([score, skipped])
    assert total["reference"] == 3 and total["abs_error"] == 2
    assert total["accuracy"] == pytest.approx(1 - 2 / 3, abs=1e-4)
    assert total["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1), abs=1e-4)


def test_count_video_with_gt_reports_reference_error_and_events(capsys) -> None:
    clip = CAVIAR / "OneLeaveShop1cor"
    code = main(["count-video", str(clip / "OneLeaveShop1cor.mpg"), "--gt",
                 str(clip / "OneLeaveShop1cor_gt.txt"), "--line", "0,0.4,1,0.4",
                 "--line", "0.25,0,0.25,1", "--ignore", "id4@3:out", "--ignore", "id4@8:in",
                 "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    first, second = result["lines"]
    assert first["reference"] == {"in": 2, "out": 0}  # 3 in, 1 out minus the two jitter events
    assert first["ignored"] == ["id4@3:out", "id4@8:in"]
    assert second["reference"] == {"in": 3, "out": 1}
    for item in result["lines"]:
        assert item["error"] == {d: item[d] - item["reference"][d] for d in ("in", "out")}
        assert item["tp"] + item["fn"] == sum(item["reference"].values())
        assert item["tp"] + item["fp"] == item["in"] + item["out"]
    assert result["score"]["reference"] == 6


def test_count_video_prints_the_score_table(capsys) -> None:
    code = main(["count-video", str(VIDEO / "TUD-Campus.mp4"), "--gt",
                 str(VIDEO / "TUD-Campus_gt.txt"), "--line", "0.5,0,0.5,1"])
    out = capsys.readouterr().out
    assert code == 0 and "ref in" in out and "accuracy" in out and "event F1" in out


def test_bad_ground_truth_is_one_clear_line(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "gt.txt"
    bad.write_text("1,2,3\n")
    code = main(["count-video", str(VIDEO / "TUD-Campus.mp4"), "--gt", str(bad),
                 "--line", "0.5,0,0.5,1"])
    err = capsys.readouterr().err
    assert code == 2 and f"{bad}:1" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(InputFileError, match="cannot read"):
        load_mot(tmp_path / "missing.txt")
    code = main(["count-video", str(VIDEO / "TUD-Campus.mp4"), "--ignore", "id1@2:in",
                 "--line", "0.5,0,0.5,1"])
    assert code == 2 and "--gt" in capsys.readouterr().err
