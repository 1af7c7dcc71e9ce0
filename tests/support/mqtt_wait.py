"""Readiness on a real broker: a subscription counts once the broker has acknowledged it.

CONNACK is not enough: a message published after CONNACK but before the broker has processed
the SUBSCRIBE is routed to nobody and silently dropped (QoS 1 does not help), which is how a
test on a busy machine can see nothing at all."""

import threading
from collections.abc import Callable, Iterable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from support.walkway_procs import wait_for

TIMEOUT = 30.0  # only reached when something is really broken


def subscriber(port: int, topic: str, on_message: Callable[[Any, Any, Any], None],
               client_id: str = "", protocol: int = mqtt.MQTTv5) -> mqtt.Client:
    """A paho client (its network thread started) returned once `topic` is acknowledged."""
    acked = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
    client.on_message = on_message
    client.on_subscribe = lambda *_args: acked.set()
    client.connect("127.0.0.1", port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    if not acked.wait(TIMEOUT):
        client.loop_stop()
        raise AssertionError(f"no SUBACK for {topic!r} after {TIMEOUT}s")
    return client


def wait_subscribed(link: Any, topics: Iterable[str], what: str) -> None:
    """Wait until an MqttLink (driven by its own thread) has SUBACKs for all `topics`."""
    wanted = set(topics)
    wait_for(lambda: link.connected and wanted <= link.subscribed, TIMEOUT, what)
