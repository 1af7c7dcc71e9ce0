"""`walkway bridge run`: the uplink from the SQLite outbox to MQTT.

A bin is delivered only when the collector acknowledges the message that carried it (an
ack on the node's ack topic after the collector committed it), not on the broker's PUBACK:
a broker drops QoS 1 messages for a shared subscription with no live member. Messages
unacknowledged after `ack_timeout_s` are sent again; the collector's upsert is idempotent.
At most `window` messages are in flight; the rest of the backlog stays in SQLite.

Operations (issue 6): the bridge also publishes health every [health] every_s seconds, runs
remote commands from .../cmd through cloud_bridge/downlink/ and publishes their results on
.../cmd/result, writes its own heartbeat into the store for `walkway status`, and feeds
systemd's watchdog only while its MQTT loop is alive and its store writes succeed.
"""

import logging
import re
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cloud_bridge import topics
from cloud_bridge.downlink.commands import CommandHandler
from cloud_bridge.downlink.config_apply import Restart
from cloud_bridge.flows import write_neighbours
from cloud_bridge.mqtt_link import MqttLink, Will
from cloud_bridge.wire import InvalidPayload, Schemas, counts_message, dumps, status_message
from edge.config import Config
from edge.health import collect
from edge.health_config import health_config
from edge.store import Store
from provisioning.node_tls import tls_context_for
from walkway import safejson
from walkway.errors import StoreError
from walkway.notify import Notifier, Watchdog

if TYPE_CHECKING:
    from cloud_bridge.content_fetch import ContentFetcher

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
        restart: Restart | None = None,
        notifier: Notifier | None = None,
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
        # Neighbours' flows for this node's sign (only when it has one).
        self.flows_topic = topics.site_topic(site, topics.FLOWS)
        signage = config.section("signage")
        self.neighbours_file = signage.neighbours_path if signage is not None else None
        self.schemas = Schemas()
        self.health_topic = topics.node_topic(site, node, topics.HEALTH)
        self.cmd_topic = topics.node_topic(site, node, topics.CMD)
        self.result_topic = topics.node_topic(site, node, topics.CMD_RESULT)
        self.commands = CommandHandler(config, self.store, clock=clock, restart=restart)
        self.unsent_results: list[bytes] = []
        self.health_every_s = health_config(config).every_s
        self.last_health = float("-inf")
        self.last_heartbeat = float("-inf")
        self.last_tick = float("-inf")
        self.last_write_ok = monotonic()
        self.notifier = notifier if notifier is not None else Notifier.from_env()
        self.watchdog = Watchdog(self.notifier, [self._loop_check, self._store_check],
                                 clock=monotonic)
        self.inflight: dict[str, InFlight] = {}
        self._acked: list[tuple[int, int]] = []
        self.delivered_bins = 0
        self.sent_messages = 0
        self.stop_event = threading.Event()
        self.content = None  # set below once the link exists (it publishes on it)
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
        self.content = _content_fetcher(config, self.link, clock, monotonic)

    # -- MQTT callbacks -------------------------------------------------------------
    def _on_connected(self, link: MqttLink) -> None:
        self._forget_inflight()
        link.subscribe(self.ack_topic, qos=1)
        link.subscribe(self.cmd_topic, qos=1)
        if self.neighbours_file is not None:
            link.subscribe(self.flows_topic, qos=1)
        if self.content is not None:
            self.content.on_connected()
        link.publish(self.status_topic, status_message(self.config.node.id, "online",
                                                       self.clock()), retain=True)

    def _on_message(self, topic: str, payload: bytes) -> None:
        if topic == self.flows_topic and self.neighbours_file is not None:
            try:
                message = self.schemas.decode("flows.v1", payload)
            except InvalidPayload as exc:
                log.warning("ignoring flows message: %s", exc)
                return
            write_neighbours(self.neighbours_file, message, self.clock())
            return
        if topic == self.cmd_topic:
            self._publish_results(self.commands.handle(payload))
            return
        if self.content is not None and self.content.handles(topic):
            self.content.on_message(topic, payload)
            return
        if topic != self.ack_topic:
            return
        try:
            ack = safejson.loads(payload, 4096)
            msg, status = ack["msg"], ack["status"]
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed ack on %s", topic)
            return
        if not isinstance(msg, str):
            log.warning("ignoring malformed ack on %s", topic)
            return
        entry = self.inflight.get(msg)
        if entry is None:
            return  # an ack for a message from before a restart or a re-send: harmless
        if status != "stored":
            log.error("collector rejected message %s: %s", msg, ack.get("reason", "?"))
            return  # stays in flight until the timeout, then is sent again
        del self.inflight[msg]
        self._acked.extend(entry.items)  # applied in one transaction after this poll

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
        """Claim bins for every free slot in one transaction, then publish them."""
        mqtt = self.config.mqtt
        free = mqtt.window - len(self.inflight)
        if not self.link.connected or free <= 0:
            return
        claimed = self.store.claim(free * mqtt.batch_bins)
        for first in range(0, len(claimed), mqtt.batch_bins):
            bins = claimed[first:first + mqtt.batch_bins]
            items = [(b.id, b.version) for b in bins]
            msg, payload = counts_message(self.config.node.site, self.config.node.id, bins,
                                          self.clock())
            if not self.link.publish(self.counts_topic, payload, qos=1):
                self.store.release(
                    [(b.id, b.version) for b in claimed[first:]])
                return
            self.inflight[msg] = InFlight(items, self.monotonic())
            self.sent_messages += 1

    def _apply_acks(self) -> None:
        if self._acked:
            items, self._acked = self._acked, []
            self.delivered_bins += self.store.mark_delivered(items)

    # -- operations -----------------------------------------------------------------
    @property
    def _public_url(self) -> str:
        """The broker URL without credentials (health and heartbeats leave the process)."""
        return re.sub(r"//[^/@]*@", "//", self.config.mqtt.url)

    def _publish_results(self, results: list[dict]) -> None:
        self.unsent_results.extend(dumps(r) for r in results)
        while self.unsent_results and self.link.publish(self.result_topic,
                                                        self.unsent_results[0], qos=1):
            self.unsent_results.pop(0)

    def publish_health(self) -> bool:
        snapshot = collect(self.commands.config, self.store, self.clock())
        snapshot["mqtt"] = {"connected": self.link.connected, "connects": self.link.connects,
                            "url": self._public_url}
        return self.link.publish(self.health_topic, dumps(snapshot), qos=1)

    def _heartbeat(self) -> None:
        try:
            self.store.set_state("bridge", {
                "connected": self.link.connected, "connects": self.link.connects,
                "last_error": self.link.last_error, "url": self._public_url,
                "delivered_bins": self.delivered_bins, "config_sha256": self.config.sha256})
        except (sqlite3.Error, StoreError) as exc:
            log.error("cannot write the bridge heartbeat: %s", exc)
            return
        self.last_write_ok = self.monotonic()

    def _loop_check(self) -> str | None:
        stale = health_config(self.config).loop_stale_s
        age = self.monotonic() - self.link.last_loop_ok
        if self.link.client is not None and age > stale:
            return f"MQTT loop has not completed a cycle for {age:.0f} s"
        return None

    def _store_check(self) -> str | None:
        age = self.monotonic() - self.last_write_ok
        if age > health_config(self.config).write_stale_s:
            return f"no store write succeeded for {age:.0f} s"
        return None

    def _operations(self) -> None:
        now = self.monotonic()
        if now - self.last_tick >= 0.5:
            self.last_tick = now
            self._publish_results(self.commands.tick())
        if now - self.last_heartbeat >= 2.0:  # like the edge's statuses: gentle on SD cards
            self.last_heartbeat = now
            self._heartbeat()
        if self.link.connected and now - self.last_health >= self.health_every_s:
            self.last_health = now
            self.publish_health()
        if self.content is not None:
            self.content.tick()
        self.watchdog.tick()

    def step(self, timeout: float = 0.05) -> None:
        self.link.poll(timeout)
        self._apply_acks()
        self._operations()
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
        # Ready without waiting for the broker: a node must boot while the network is down.
        self.notifier.ready("sending the outbox")
        try:
            while not self.stop_event.is_set():
                self.step()
        finally:
            final = (self.status_topic,
                     status_message(self.config.node.id, "offline", self.clock()))
            self.notifier.stopping()
            if self.content is not None:
                self.content.close()
            self.link.close(final=final)
            self.store.close()
            log.info("bridge stopped: %d bins delivered in %d messages",
                     self.delivered_bins, self.sent_messages)


def _content_fetcher(config: Config, link: MqttLink, clock: Callable[[], float],
                     monotonic: Callable[[], float]) -> "ContentFetcher | None":
    """The in-bridge content fetcher, when this node has a sign that checks signatures."""
    from cloud_bridge.content_fetch_config import content_fetch_config

    signage = config.section("signage")
    if signage is None or signage.content_public_key is None:
        return None
    if not content_fetch_config(config).enabled:
        return None
    from cloud_bridge.content_fetch import ContentFetcher
    from provisioning.signing import load_public_key

    return ContentFetcher(config, link, load_public_key(signage.content_public_key),
                          clock=clock, monotonic=monotonic)


def run_bridge(config: Config) -> int:
    from walkway.clock import clock_from_env  # WALKWAY_CLOCK: `walkway sim` time

    bridge = Bridge(config, clock=clock_from_env())

    def on_signal(signum: int, _frame: object) -> None:
        bridge.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    bridge.run()
    return 0
