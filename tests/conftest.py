import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools  # noqa: E402

from support.mosquitto import Mosquitto  # noqa: E402
from support.postgres import LocalPostgres  # noqa: E402


def pytest_collection_modifyitems(config, items) -> None:
    """Under pytest-xdist (`./run test`), the long tests first: with `--dist loadgroup`
    each worker takes the next test in this order, so the longest start at once on
    different workers instead of ending the run alone. A serial run keeps file order, so
    module fixtures are set up once per file."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def broker(tmp_path: Path):
    """A real mosquitto on a free port; `broker.url`, `broker.restart()`, `broker.stop()`."""
    b = Mosquitto(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def postgres_server():
    """One real PostgreSQL for the session (initdb in a temp dir, unprivileged user)."""
    server = LocalPostgres().start()
    server.databases = itertools.count(1)
    yield server
    server.remove()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh, empty database on the session's PostgreSQL: its postgresql:// URL."""
    return postgres_server.create_database(f"walkway_test_{next(postgres_server.databases)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def collector_db(request, tmp_path: Path) -> str:
    """`--db` for each backend: a SQLite file path, then a postgresql:// URL."""
    if request.param == "sqlite":
        return str(tmp_path / "cloud.db")
    return request.getfixturevalue("postgres_url")
