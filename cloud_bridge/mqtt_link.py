"""One MQTT v5 connection driven by its owner's loop (paho's protocol engine, our event loop).

Why not `loop_start()`: paho's network thread can die on an exception in a callback and the
process goes on, disconnected forever (a failure seen in peer gateways). Here the owner calls
`poll()`; callbacks run in the owner's thread; an exception in one is recorded and re-raised
from `poll()`, so the process exits and its supervisor restarts it.

Each connection attempt uses a fresh paho client, so QoS 1 messages queued inside paho for a
dead connection are never replayed behind our back: the SQLite outbox is the only backlog.
"""

import logging
import random
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


class LinkFault(RuntimeError):
    """A callback raised: re-raised from poll() so the process fails loudly and restarts."""


class MqttLink:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        client_id: str,
        on_connected: Callable[["MqttLink"], None] = lambda link: None,
        on_message: Callable[[str, bytes], None] = lambda topic, payload: None,
        on_retained: Callable[[str, bytes], None] | None = None,
        tls_context: ssl.SSLContext | None = None,
        will: Will | None = None,
        keepalive: int = 30,
        max_inflight: int = 20,
        session_expiry_s: int = 0,
        clock: Callable[[], float] = time.monotonic,
        backoff_max_s: float = 30.0,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.host, self.port, self.client_id = host, port, client_id
        self.on_connected, self.on_message = on_connected, on_message
        self.on_retained = on_retained  # when set, retained messages go here instead
        self.tls_context, self.will, self.keepalive = tls_context, will, keepalive
        self.max_inflight = max_inflight
        self.session_expiry_s = session_expiry_s
        self.clock = clock
        self.backoff_max_s = backoff_max_s
        self.username, self.password = username, password
        self.client: mqtt.Client | None = None
        self.connected = False
        # Topics the broker has acknowledged (SUBACK) on the current connection: the moment
        # messages on them can reach us. `connected` alone is earlier than that.
        self.subscribed: set[str] = set()
        self._pending_subs: dict[int, str] = {}
        self.connects = 0
        self.refused_publishes = 0
        self.last_error = ""
        self._attempts = 0
        self._next_attempt = 0.0
        self._fault: BaseException | None = None
        self.last_loop_ok = clock()

    # -- callbacks (run inside poll) ------------------------------------------------
    def _guard(self, fn: Callable[..., None]) -> Callable[..., None]:
        def wrapped(*args: Any) -> None:
            try:
                fn(*args)
            except Exception as exc:  # noqa: BLE001 - recorded, re-raised from poll()
                log.exception("MQTT callback %s failed", getattr(fn, "__name__", fn))
                self._fault = exc

        return wrapped

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self.last_error = f"connect refused: {reason}"
            log.warning("%s:%s %s", self.host, self.port, self.last_error)
            return
        self.connected = True
        self.connects += 1
        self._attempts = 0
        log.info("connected to %s:%s as %s", self.host, self.port, self.client_id)
        self.on_connected(self)

    def _on_disconnect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self.connected:
            log.warning("disconnected from %s:%s (%s)", self.host, self.port, reason)
        self.connected = False
        self.subscribed.clear()
        self.last_error = f"disconnected: {reason}"

    def _on_publish(self, client: mqtt.Client, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            # e.g. 0x87 Not authorized: the broker's ACL refuses this topic; sending again will
            # not help, a crew must fix the certificate or ACL. The bins stay in the outbox.
            self.refused_publishes += 1
            self.last_error = f"broker refused a publish: {reason}"
            log.error("%s (message %d); check this node's certificate and the broker ACL",
                      self.last_error, mid)

    def _on_subscribe(self, client: mqtt.Client, _u: Any, mid: int, reasons: Any,
                      _p: Any) -> None:
        topic = self._pending_subs.pop(mid, None)
        if topic is None:
            return
        if any(r.is_failure for r in reasons):
            self.last_error = f"broker refused a subscription to {topic}: {reasons[0]}"
            log.error(self.last_error)
            return
        self.subscribed.add(topic)

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        if message.retain and self.on_retained is not None:
            self.on_retained(message.topic, message.payload)
            return
        self.on_message(message.topic, message.payload)

    # -- connection -----------------------------------------------------------------
    def _new_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5
        )
        client.on_connect = self._guard(self._on_connect)
        client.on_disconnect = self._guard(self._on_disconnect)
        client.on_message = self._guard(self._on_message)
        client.on_publish = self._guard(self._on_publish)
        client.on_subscribe = self._guard(self._on_subscribe)
        client.max_inflight_messages_set(self.max_inflight)
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls_context is not None:
            client.tls_set_context(self.tls_context)
        if self.will is not None:
            client.will_set(self.will.topic, self.will.payload, self.will.qos, self.will.retain)
        return client

    def _drop_client(self) -> None:
        if self.client is not None:
            try:
                self.client.socket() and self.client.socket().close()
            except OSError:
                pass
        self.client = None
        self.connected = False
        self.subscribed.clear()  # clean_start: a new connection has no subscriptions
        self._pending_subs.clear()

    def _schedule_retry(self) -> None:
        self._attempts += 1
        delay = min(self.backoff_max_s, 0.25 * 2 ** min(self._attempts, 10))
        # Jitter: hundreds of nodes must not reconnect in lock-step after a broker restart.
        self._next_attempt = self.clock() + delay * random.uniform(0.5, 1.0)

    def _try_connect(self) -> None:
        self._drop_client()
        client = self._new_client()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry_s
        try:
            client.connect(self.host, self.port, self.keepalive, clean_start=True,
                           properties=props)
        except (OSError, ssl.SSLError) as exc:
            self.last_error = f"cannot connect to {self.host}:{self.port}: {exc}"
            log.debug(self.last_error)
            self._schedule_retry()
            return
        sock = client.socket()
        if sock is not None:
            # paho leaves Nagle on: a small ack or publish then waits for the peer's delayed
            # ACK (40 ms on Linux), which capped the uplink at one window per 40-60 ms.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client = client

    def poll(self, timeout: float = 0.05) -> None:
        """Run one step of the protocol: connect if due, read/write, keepalive."""
        if self.client is None:
            if self.clock() < self._next_attempt:
                time.sleep(min(timeout, max(0.0, self._next_attempt - self.clock())))
                return
            self._try_connect()
            if self.client is None:
                return
        rc = self.client.loop(timeout=timeout)
        if self._fault is not None:
            fault, self._fault = self._fault, None
            raise LinkFault(f"MQTT callback failed: {fault!r}") from fault
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            self.last_loop_ok = self.clock()
            return
        if self.connected:
            log.warning("MQTT loop error %s; reconnecting", rc)
        self._drop_client()
        self._schedule_retry()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        """Queue a publish on the live connection. False when not connected."""
        if not self.connected or self.client is None:
            return False
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    def subscribe(self, topic: str, qos: int = 1) -> None:
        if self.client is not None:
            _rc, mid = self.client.subscribe(topic, qos=qos)
            if mid is not None:
                self._pending_subs[mid] = topic

    def unsubscribe(self, topic: str) -> None:
        self.subscribed.discard(topic)
        if self.client is not None and self.connected:
            self.client.unsubscribe(topic)

    def close(self, final: tuple[str, bytes] | None = None) -> None:
        """Disconnect cleanly, optionally publishing one last retained message first."""
        if self.client is not None and self.connected:
            if final is not None:
                info = self.client.publish(final[0], final[1], qos=1, retain=True)
                deadline = time.monotonic() + 2
                while not info.is_published() and time.monotonic() < deadline:
                    self.client.loop(timeout=0.05)
            self.connected = False
            self.client.disconnect()
            self.client.loop(timeout=0.1)
        self._drop_client()
