"""`walkway collector run`: every node's counts into the city's database, exactly once.

Subscribes with an MQTT v5 shared subscription, validates each payload against its JSON
Schema, upserts idempotently, commits in batches, and only then acknowledges each message
to its node. Invalid payloads are counted and logged, never stored, never fatal.
"""

import logging
import signal
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from cloud_bridge import topics
from cloud_bridge.collector_ops import Handler, ops_handlers
from cloud_bridge.collector_store import CollectorStorage
from cloud_bridge.flows import flows_messages
from cloud_bridge.mqtt_link import MqttLink
from cloud_bridge.wire import InvalidPayload, Schemas, ack_message
from walkway.errors import UsageError
from walkway.notify import Notifier, Watchdog

log = logging.getLogger(__name__)

LOOP_STALE_S = 30.0  # watchdog: the MQTT loop must complete a cycle this often


def parse_broker_url(url: str) -> tuple[str, int, bool]:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise UsageError(
            f"--broker: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT], got {url!r}"
        )
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise UsageError(f"--broker: expected a port from 1 to 65535 in {url!r}") from exc
    return parts.hostname, port, tls


class Collector:
    def __init__(
        self,
        broker_url: str,
        storage: CollectorStorage,
        *,
        tls_context: ssl.SSLContext | None = None,
        client_id: str | None = None,
        batch_messages: int = 500,
        flows_every_s: float = 30.0,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        host, port, tls = parse_broker_url(broker_url)
        if tls and tls_context is None:
            tls_context = ssl.create_default_context()
        self.storage = storage
        self.schemas = Schemas()
        self.clock, self.monotonic = clock, monotonic
        self.batch_messages = batch_messages
        self.flows_every_s = flows_every_s
        self._next_flows = 0.0
        self.inbox: list[tuple[str, bytes]] = []
        self.stored_bins = 0
        self.stored_messages = 0
        self.invalid = 0
        self.stop_event = threading.Event()
        # Leaf topic -> handler(site, node, payload, now). Health and command results are
        # added by the operations module; counts are the core.
        self.handlers: dict[str, Handler] = {topics.COUNTS: self._store_counts}
        self.handlers.update(ops_handlers(self.schemas, self.storage, self._reject))
        self._acks: list[tuple[str, bytes]] = []
        self.cleared_retained = 0
        self._clear: list[str] = []
        self._echoes: set[str] = set()
        self.link = MqttLink(
            host=host,
            port=port,
            client_id=client_id or f"walkway-collector-{uuid.uuid4().hex[:8]}",
            on_connected=self._on_connected,
            on_message=self._on_message,
            on_retained=self._on_retained,
            tls_context=tls_context,
            max_inflight=1000,
            clock=monotonic,
        )

    def _on_connected(self, link: MqttLink) -> None:
        for leaf in self.handlers:
            link.subscribe(topics.shared(topics.all_nodes(leaf)), qos=1)

    def _on_message(self, topic: str, payload: bytes) -> None:
        if not payload and topic in self._echoes:
            self._echoes.discard(topic)  # our own clear, delivered back to our subscription
            return
        self.inbox.append((topic, payload))

    def _on_retained(self, topic: str, payload: bytes) -> None:
        """Nodes never retain counts, health or results (docs/wire.md), so a retained one is
        a mistake or a poison message that the broker would hand to every collector at every
        restart. It is handled like any other (stored if valid, counted if not) and then
        cleared with an empty retained publish, which the collectors' ACL allows."""
        if payload:  # an empty payload is the broker confirming a clear
            self.inbox.append((topic, payload))
            self._clear.append(topic)

    def _reject(self, topic: str, reason: str) -> None:
        self.invalid += 1
        self.storage.bump("invalid_payloads")
        log.warning("invalid payload on %s: %s", topic[:200], reason[:200])

    def _store_counts(self, site: str, node: str, payload: bytes, now: float) -> None:
        topic = topics.node_topic(site, node, topics.COUNTS)
        try:
            message = self.schemas.decode("counts.v1", payload)
        except InvalidPayload as exc:
            self._reject(topic, str(exc))
            return
        if message["site"] != site or message["node"] != node:
            self._reject(topic, "site/node in the payload differ from the topic")
            self._acks.append((topics.node_topic(site, node, topics.ACK),
                               ack_message(message["msg"], "rejected", 0,
                                           "site/node differ from topic")))
            return
        stored = self.storage.upsert(message, now)
        self.stored_bins += stored
        self.stored_messages += 1
        self._acks.append((topics.node_topic(site, node, topics.ACK),
                           ack_message(message["msg"], "stored", stored)))

    def flush(self) -> None:
        """Store everything received, commit once, then acknowledge."""
        batch, self.inbox = self.inbox, []
        now = self.clock()
        for topic, payload in batch:
            try:
                site, node, leaf = topics.parse(topic)
            except ValueError as exc:
                self._reject(topic, str(exc))
                continue
            handler = self.handlers.get(leaf)
            if handler is None:
                self._reject(topic, f"no handler for {leaf!r}")
                continue
            handler(site, node, payload, now)
        self.storage.commit()
        acks, self._acks = self._acks, []
        for ack_topic, body in acks:
            self.link.publish(ack_topic, body, qos=1)
        clear, self._clear = self._clear, []
        for topic in clear:
            if self.link.publish(topic, b"", qos=1, retain=True):
                self._echoes.add(topic)
                self.cleared_retained += 1
                self.storage.bump("cleared_retained")
                log.warning("cleared a retained message on %s", topic[:200])
        if clear:
            self.storage.commit()

    def step(self, timeout: float = 0.05) -> None:
        """Read until the socket is drained (or a batch is full), then commit and ack once:
        small batches and low latency when quiet, large batches under load."""
        self.link.poll(timeout)
        while self.inbox and len(self.inbox) < self.batch_messages:
            before = len(self.inbox)
            self.link.poll(0.0)
            if len(self.inbox) == before:
                break
        if self.inbox or self._clear:
            self.flush()

    def publish_flows(self, force: bool = False) -> int:
        """Every `flows_every_s`, each site's recent flows, retained (see cloud_bridge.flows)."""
        now = self.monotonic()
        if not self.link.connected or (not force and now < self._next_flows):
            return 0
        self._next_flows = now + self.flows_every_s
        messages = flows_messages(self.storage, self.clock())
        for topic, body in messages:
            self.link.publish(topic, body, qos=1, retain=True)
        return len(messages)

    def stop(self) -> None:
        self.stop_event.set()

    def _loop_check(self) -> str | None:
        age = self.monotonic() - self.link.last_loop_ok
        if self.link.client is not None and age > LOOP_STALE_S:
            return f"MQTT loop has not completed a cycle for {age:.0f} s"
        return None

    def run(self) -> None:
        log.info("collector subscribing to %s", topics.shared(topics.all_nodes(topics.COUNTS)))
        # systemd Type=notify (issue 6): ready at once, pings only while the loop completes.
        notifier = Notifier.from_env()
        watchdog = Watchdog(notifier, [self._loop_check], clock=self.monotonic)
        notifier.ready("collecting")
        try:
            while not self.stop_event.is_set():
                self.step()
                self.publish_flows()
                watchdog.tick()
            if self.inbox:
                self.flush()
        finally:
            self.link.close()
            self.storage.close()
            log.info("collector stopped: %d bins in %d messages stored, %d invalid",
                     self.stored_bins, self.stored_messages, self.invalid)


def run_collector(collector: Collector) -> int:
    def on_signal(signum: int, _frame: Any) -> None:
        collector.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    collector.run()
    return 0
