"""The collector's operations handlers: health telemetry and command results.

Registered into `Collector.handlers` (leaf topic -> handler); like counts they are
validated against their JSON Schema, and an invalid payload is counted and logged, never
stored, never fatal. Neither is acknowledged: health is a snapshot (the next one
supersedes it) and results are also kept on the node until the command expires.
"""

from collections.abc import Callable

from cloud_bridge import topics
from cloud_bridge.collector_store import CollectorStorage
from cloud_bridge.wire import InvalidPayload, Schemas

# Leaf topic -> handler(site, node, payload, now), as Collector.handlers holds them.
Handler = Callable[[str, str, bytes, float], None]
Reject = Callable[[str, str], None]  # (topic, reason): count and log an invalid payload


def ops_handlers(schemas: Schemas, storage: CollectorStorage,
                 reject: Reject) -> dict[str, Handler]:
    def accept(leaf: str, schema: str, site: str, node: str, payload: bytes) -> dict | None:
        topic = topics.node_topic(site, node, leaf)
        try:
            message = schemas.decode(schema, payload)
        except InvalidPayload as exc:
            reject(topic, str(exc))
            return None
        if message["site"] != site or message["node"] != node:
            reject(topic, "site/node in the payload differ from the topic")
            return None
        return message

    def health(site: str, node: str, payload: bytes, now: float) -> None:
        message = accept(topics.HEALTH, "health.v1", site, node, payload)
        if message is not None:
            storage.record_health(message, now)

    def result(site: str, node: str, payload: bytes, now: float) -> None:
        message = accept(topics.CMD_RESULT, "cmd-result.v1", site, node, payload)
        if message is not None:
            storage.record_result(message, now)

    return {topics.HEALTH: health, topics.CMD_RESULT: result}
