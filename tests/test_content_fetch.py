"""The in-bridge fetcher's bandwidth cap and resume, on a real broker: chunks are asked for
one at a time, paced by the token bucket (an injected clock decides when the next may go),
and a bridge stopped half-way resumes from the chunks already on disk."""

import json
import threading
import time

from content_fixtures import SMALL, Sign, manifest, package
from support.walkway_procs import wait_for

from cloud_bridge.content_dist import (
    Publisher,
    pack,
    package_ref,
    pointer,
    publish_chunks,
    publish_pointers,
)
from cloud_bridge.content_fetch import TokenBucket
from provisioning.content_key import create_content_key
from provisioning.signing import load_private_key

TIMEOUT = 60.0


class Clock:
    def __init__(self) -> None:
        self.t, self.lock = 1000.0, threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.t

    def advance(self, s: float) -> None:
        with self.lock:
            self.t += s


def test_token_bucket_holds_at_most_its_capacity():
    clock = Clock()
    bucket = TokenBucket(1000, 500, clock)
    assert bucket.take(500) and not bucket.take(1)
    clock.advance(0.25)
    assert bucket.take(250) and not bucket.take(1)
    clock.advance(3600)  # an idle hour saves up one burst, not an hour's worth
    assert bucket.take(500) and not bucket.take(1)


def test_chunks_paced_by_the_cap_and_a_restarted_bridge_resumes(broker, tmp_path):
    city = create_content_key(tmp_path / "key")
    v1 = package(tmp_path, city.private, "2026.12.01")
    archive = pack(v1)
    ref = package_ref(manifest(v1), archive, int(SMALL))
    assert ref["chunks"] >= 8
    # 2 KiB/s with 2 KiB chunks: one chunk per second of the (injected) clock.
    sign = Sign(tmp_path, broker.url, "n1", city.public, max_kib_s=2)
    clock = Clock()
    sign.start(monotonic=clock)
    pub = Publisher(broker.url, "test-publisher")
    try:
        wait_for(sign.subscribed, TIMEOUT, "n1's pointer subscription")
        publish_chunks(pub, {"s1"}, ref, archive)
        publish_pointers(pub, {("s1", "n1"): pointer(ref, load_private_key(city.private),
                                                      time.time(), to=("s1", "n1"))})
        fetcher = sign.bridge.content
        for expected in (1, 2, 3):  # one burst, then one chunk per second
            wait_for(lambda e=expected: fetcher.job and fetcher.job.next == e, TIMEOUT,
                     f"chunk {expected} on disk")
            held = fetcher.paced
            wait_for(lambda h=held: fetcher.paced >= h + 20, TIMEOUT, "the bucket holding")
            assert fetcher.job.next == expected and fetcher.job.topic is None
            assert fetcher.asked == expected  # never a second chunk in flight
            clock.advance(1.0)
        sign.stop()
        part = sign.state_dir / "content-inbox" / f".part-{ref['sha256']}"
        on_disk = int(json.loads(part.with_suffix(".json").read_text())["next"])
        assert on_disk >= 3 and part.stat().st_size == ref["size"]

        # Restarted with a real clock and a wider cap (the test need not wait 8 s).
        sign.config.write_text(sign.config.read_text().replace("max_kib_s = 2\n",
                                                               "max_kib_s = 512\n"))
        sign.start()
        wait_for(lambda: sign.version() == "2026.12.01", TIMEOUT, "the resumed fetch installs")
        assert sign.bridge.content.asked == ref["chunks"] - on_disk  # only the missing ones
        assert not part.exists()
    finally:
        pub.close()
        sign.stop()
