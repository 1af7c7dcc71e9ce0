"""Node tags: named groups of signs in the fleet's own registry, for
`walkway fleet publish-content --to tag:NAME` (docs/provisioning.md#walkway-provision-tag).

Kept in `tags.json` next to the CA's `registry.json`, not in it: a tag is about the sign,
not about one certificate, so it survives renewals; a revoked node drops out because
targets are resolved against the registry's live certificates. balena device tags
(`walkway fleet tag`) stay the cloud dashboard's; these need no API key and no network.

    {"nodes": {"n1": ["aurora", "underground"], "n2": ["aurora"]}}
"""

import json
import re
from collections.abc import Sequence
from pathlib import Path

from provisioning.errors import ProvisionError
from walkway.files import write_atomic

TAGS = "tags.json"
TAG_PATTERN = r"[a-z0-9][a-z0-9._-]{0,63}"


def load_tags(ca_dir: Path) -> dict[str, list[str]]:
    """node id -> its tags; empty when no tag was ever set."""
    path = Path(ca_dir) / TAGS
    try:
        body = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ProvisionError(f"{path}: expected the fleet's tags JSON") from exc
    nodes = body.get("nodes") if isinstance(body, dict) else None
    if not isinstance(nodes, dict) or not all(
            isinstance(v, list) and all(isinstance(t, str) for t in v) for v in nodes.values()):
        raise ProvisionError(f"{path}: nodes: expected an object of node id -> list of tags")
    return {str(k): list(v) for k, v in nodes.items()}


def check_tag(tag: str) -> str:
    if not re.fullmatch(TAG_PATTERN, tag):
        raise ProvisionError(f"tag: expected a name matching {TAG_PATTERN}, got {tag!r}")
    return tag


def set_tags(ca_dir: Path, node: str, add: Sequence[str] = (),
             remove: Sequence[str] = ()) -> list[str]:
    """Add and remove tags of one node; returns its tags now."""
    tags = load_tags(ca_dir)
    now = [t for t in tags.get(node, []) if t not in remove]
    now += [check_tag(t) for t in add if t not in now]
    if now:
        tags[node] = sorted(now)
    else:
        tags.pop(node, None)
    body = {"nodes": {k: tags[k] for k in sorted(tags)}}
    write_atomic(Path(ca_dir) / TAGS, json.dumps(body, indent=2) + "\n")
    return tags.get(node, [])
