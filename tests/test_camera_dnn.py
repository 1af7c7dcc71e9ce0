"""The dnn person detector: a model file cv2.dnn loads from a local path (nothing downloaded).

No real person model ships with the project, so the test writes a tiny ONNX graph whose
output is a fixed SSD DetectionOutput blob: it proves the loading, the blob, the parsing
(class, score, clipping) and the wiring through config and `walkway count-video`.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from edge.config import parse_config
from sensors.camera.detect import DnnDetector, parse_ssd
from sensors.camera.geometry import CountLine
from sensors.camera.options import PipelineOptions
from sensors.camera.protobuf import field as _field
from walkway.cli import main
from walkway.errors import ConfigError, InputFileError

VIDEO = Path(__file__).resolve().parent / "data" / "video" / "TUD-Campus.mp4"
ROWS = np.array([[[
    [0, 15, 0.90, 0.1, 0.2, 0.3, 0.8],  # a person, confident
    [0, 15, 0.20, 0.5, 0.5, 0.6, 0.9],  # a person, too unsure
    [0, 7, 0.95, 0.6, 0.1, 0.9, 0.5],  # a car
]]], np.float32)


def tiny_ssd_onnx(path: Path) -> Path:
    """ONNX (protobuf written by hand): detection_out = ROWS + 0 * mean(data)."""
    def tensor(name: str, arr: np.ndarray) -> bytes:
        dims = b"".join(_field(1, d) for d in arr.shape)
        return dims + _field(2, 1) + _field(8, name) + _field(9, arr.astype(np.float32).tobytes())

    def value(name: str, shape: list[int]) -> bytes:
        dims = b"".join(_field(1, _field(1, d)) for d in shape)
        return _field(1, name) + _field(2, _field(1, _field(1, 1) + _field(2, dims)))

    def node(op: str, inputs: list[str], outputs: list[str], attrs: bytes = b"") -> bytes:
        ins = b"".join(_field(1, i) for i in inputs)
        return ins + b"".join(_field(2, o) for o in outputs) + _field(4, op) + attrs

    mean_attrs = (_field(5, _field(1, "keepdims") + _field(3, 1) + _field(20, 2))
                  + _field(5, _field(1, "axes") + b"".join(_field(8, a) for a in (1, 2, 3))
                           + _field(20, 7)))
    graph = (_field(1, node("ReduceMean", ["data"], ["m"], mean_attrs))
             + _field(1, node("Mul", ["m", "zero"], ["mz"]))
             + _field(1, node("Add", ["rows", "mz"], ["detection_out"]))
             + _field(2, "tiny") + _field(5, tensor("rows", ROWS))
             + _field(5, tensor("zero", np.array(0.0)))
             + _field(11, value("data", [1, 3, 300, 300]))
             + _field(12, value("detection_out", list(ROWS.shape))))
    path.write_bytes(_field(1, 7) + _field(8, _field(2, 13)) + _field(7, graph))
    return path


def test_parse_ssd_keeps_confident_people_only() -> None:
    boxes = parse_ssd(ROWS, klass=15, confidence=0.5, w=200, h=100)
    assert np.allclose(boxes, [[20, 20, 40, 60]])


def test_a_local_onnx_model_detects_through_cv2_dnn(tmp_path: Path) -> None:
    model = tiny_ssd_onnx(tmp_path / "person.onnx")
    options = PipelineOptions(lines=(CountLine("a", 0, 0.5, 1, 0.5),), detector="dnn",
                              model=model, model_input=300)
    frame = np.zeros((120, 160, 3), np.uint8)
    boxes = DnnDetector(options).detect(frame[:, :, 0], frame)
    assert np.allclose(boxes, [[16, 24, 32, 72]])


def test_count_video_runs_the_dnn_pipeline(tmp_path: Path, capsys) -> None:
    model = tiny_ssd_onnx(tmp_path / "person.onnx")
    code = main(["count-video", str(VIDEO), "--line", "0.5,0,0.5,1", "--detector", "dnn",
                 "--model", str(model), "--detect-every", "5", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["frames"] == 71
    assert result["lines"][0]["in"] == 0  # the fake person never moves


def test_an_unloadable_model_is_a_clear_error(tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    options = PipelineOptions(detector="dnn", model=broken)
    with pytest.raises(InputFileError, match="cv2.dnn cannot load this model"):
        DnnDetector(options)
    code = main(["count-video", str(VIDEO), "--line", "0.5,0,0.5,1", "--detector", "dnn",
                 "--model", str(broken)])
    assert code == 2 and "cannot load" in capsys.readouterr().err


def test_config_paths_for_the_model_are_relative_to_the_config(tmp_path: Path) -> None:
    tiny_ssd_onnx(tmp_path / "person.onnx")
    source = {"type": "camera", "name": "cam", "device": 0, "detector": "dnn",
              "model": "person.onnx", "detect_every": 3,
              "lines": [{"name": "door", "points": [0, 0.5, 1, 0.5]}]}
    data = {"node": {"id": "n1", "site": "s1"}, "store": {"path": "s.db"}, "mqtt": {},
            "sources": [source]}
    config = parse_config(tmp_path / "node.toml", data)
    assert config.sources[0].options.pipeline.model == tmp_path / "person.onnx"
    with pytest.raises(ConfigError, match="model: expected an existing file"):
        parse_config(tmp_path / "node.toml", {**data, "sources": [{**source, "model": "x"}]})
