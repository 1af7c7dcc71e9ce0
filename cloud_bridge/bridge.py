"""`walkway bridge run`: the uplink from the SQLite outbox to MQTT.

A bin is delivered only when the collector acknowledges the message that carried it (an
ack on the node's ack topic after the collector committed it), not on the broker's PUBACK:
a broker drops QoS 1 messages for a shared subscription with no live member. Messages
unacknowledged after `ack_timeout_s` are sent again; the collector's upsert is idempotent.
At most `window` messages are in flight; the rest of the backlog stays in SQLite.
"""

import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cloud_bridge import topics
from cloud_bridge.mqtt_link import MqttLink, Will
from cloud_bridge.tls import tls_context_for
from cloud_bridge.wire import counts_message, status_message
from edge.config import Config
from edge.store import Store

log = logging.getLogger(__name__)


@dataclass
class InFlight:
    items: list[tuple[int, int]]  # (bin id, version)
    sent_at: float


class Bridge:
    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.clock = clock
        self.monotonic = monotonic
        self.store = Store.from_config(config, clock=clock, durable=False)
        self.store.release()  # bins a killed bridge had in flight go back in the outbox
        node, site = config.node.id, config.node.site
        self.counts_topic = topics.node_topic(site, node, topics.COUNTS)
        self.ack_topic = topics.node_topic(site, node, topics.ACK)
        self.status_topic = topics.node_topic(site, node, topics.STATUS)
        self.inflight: dict[str, InFlight] = {}
        self.delivered_bins = 0
        self.sent_messages = 0
        self.stop_event = threading.Event()
        mqtt = config.mqtt
        self.link = MqttLink(
            host=mqtt.host,
            port=mqtt.port,
            client_id=f"walkway-{site}-{node}-bridge",
            on_connected=self._on_connected,
            on_message=self._on_message,
            tls_context=tls_context_for(config),
            will=Will(self.status_topic, status_message(node, "offline", clock())),
            keepalive=mqtt.keepalive_s,
            max_inflight=max(20, mqtt.window),
            clock=monotonic,
        )

    # -- MQTT callbacks -------------------------------------------------------------
    def _on_connected(self, link: MqttLink) -> None:
        self._forget_inflight()
        link.subscribe(self.ack_topic, qos=1)
        link.publish(self.status_topic, status_message(self.config.node.id, "online",
                                                       self.clock()), retain=True)

    def _on_message(self, topic: str, payload: bytes) -> None:
        if topic != self.ack_topic:
            return
        try:
            ack = json.loads(payload)
            msg, status = ack["msg"], ack["status"]
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed ack on %s", topic)
            return
        entry = self.inflight.get(msg)
        if entry is None:
            return  # an ack for a message from before a restart or a re-send: harmless
        if status != "stored":
            log.error("collector rejected message %s: %s", msg, ack.get("reason", "?"))
            return  # stays in flight until the timeout, then is sent again
        del self.inflight[msg]
        self.delivered_bins += self.store.mark_delivered(entry.items)

    # -- outbox ---------------------------------------------------------------------
    def _forget_inflight(self) -> None:
        self.inflight.clear()
        self.store.release()

    def _expire(self) -> None:
        timeout = self.config.mqtt.ack_timeout_s
        now = self.monotonic()
        for msg, entry in list(self.inflight.items()):
            if now - entry.sent_at > timeout:
                log.info("no ack for message %s after %.0f s; will send again", msg, timeout)
                del self.inflight[msg]
                self.store.release(entry.items)

    def _fill_window(self) -> None:
        mqtt = self.config.mqtt
        while self.link.connected and len(self.inflight) < mqtt.window:
            bins = self.store.claim(mqtt.batch_bins)
            if not bins:
                return
            items = [(b.id, b.version) for b in bins]
            msg, payload = counts_message(self.config.node.site, self.config.node.id, bins,
                                          self.clock())
            if not self.link.publish(self.counts_topic, payload, qos=1):
                self.store.release(items)
                return
            self.inflight[msg] = InFlight(items, self.monotonic())
            self.sent_messages += 1

    def step(self, timeout: float = 0.05) -> None:
        self.link.poll(timeout)
        if not self.link.connected:
            if self.inflight:
                self._forget_inflight()
            return
        self._expire()
        self._fill_window()

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        log.info("bridge for %s -> %s", self.config.node.id, self.config.mqtt.url)
        try:
            while not self.stop_event.is_set():
                self.step()
        finally:
            final = (self.status_topic,
                     status_message(self.config.node.id, "offline", self.clock()))
            self.link.close(final=final)
            self.store.close()
            log.info("bridge stopped: %d bins delivered in %d messages",
                     self.delivered_bins, self.sent_messages)


def run_bridge(config: Config) -> int:
    bridge = Bridge(config)

    def on_signal(signum: int, _frame: object) -> None:
        bridge.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    bridge.run()
    return 0
