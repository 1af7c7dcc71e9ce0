"""MQTT topics. Everything a node says or hears lives under walkway/v1/{site}/{node}/."""

PREFIX = "walkway/v1"
COUNTS = "counts"  # node -> cloud, QoS 1: sealed bins
STATUS = "status"  # node -> cloud, QoS 1, retained: online birth / offline last will
ACK = "ack"  # cloud -> node, QoS 1: the collector stored a counts message
HEALTH = "health"  # node -> cloud, QoS 1: periodic health telemetry
CMD = "cmd"  # cloud -> node, QoS 1: commands
CMD_RESULT = "cmd/result"  # node -> cloud, QoS 1: command results

# Collectors share one MQTT v5 shared subscription so they scale out on a clustered broker.
SHARED_GROUP = "walkway-collectors"


def node_topic(site: str, node: str, leaf: str) -> str:
    return f"{PREFIX}/{site}/{node}/{leaf}"


def all_nodes(leaf: str) -> str:
    return f"{PREFIX}/+/+/{leaf}"


def shared(topic_filter: str, group: str = SHARED_GROUP) -> str:
    return f"$share/{group}/{topic_filter}"


def parse(topic: str) -> tuple[str, str, str]:
    """walkway/v1/{site}/{node}/{leaf...} -> (site, node, leaf). ValueError otherwise."""
    parts = topic.split("/", 4)
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != PREFIX:
        raise ValueError(f"not a walkway/v1 node topic: {topic!r}")
    return parts[2], parts[3], parts[4]

FLOWS = "flows"  # cloud -> the site's nodes, QoS 1, retained: recent flow per node/sensor


def site_topic(site: str, leaf: str) -> str:
    return f"{PREFIX}/{site}/{leaf}"
