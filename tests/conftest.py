import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.mosquitto import Mosquitto  # noqa: E402


@pytest.fixture
def broker(tmp_path: Path):
    """A real mosquitto on a free port; `broker.url`, `broker.restart()`, `broker.stop()`."""
    b = Mosquitto(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.fixture
def data_dir() -> Path:
    return DATA
