"""Tests use the package's local broker runner."""

from walkway.local_broker import Mosquitto, free_port, wait_port

__all__ = ["Mosquitto", "free_port", "wait_port"]
