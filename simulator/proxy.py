"""A per-node TCP proxy between the node's bridge and the broker, so one node can be cut off.

`cut()` drops the node's open connections and refuses new ones (a network partition of
that node only); `restore()` lets it reconnect. The proxies share one asyncio loop on a
background thread of the simulator.
"""

import asyncio
import socket
import threading
from collections.abc import Callable

CHUNK = 65536


class ProxyHub:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="proxy-hub",
                                       daemon=True)
        self.proxies: dict[str, NodeProxy] = {}

    def start(self) -> None:
        self.thread.start()

    def add(self, node: str) -> "NodeProxy":
        proxy = NodeProxy(self, node)
        asyncio.run_coroutine_threadsafe(proxy.listen(), self.loop).result(10)
        self.proxies[node] = proxy
        return proxy

    def call(self, fn: Callable[[], None]) -> None:
        self.loop.call_soon_threadsafe(fn)

    def close(self) -> None:
        async def shutdown() -> None:
            for p in self.proxies.values():
                p.shutdown()

        if self.thread.is_alive():
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(5)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


class NodeProxy:
    def __init__(self, hub: ProxyHub, node: str) -> None:
        self.hub = hub
        self.node = node
        self.port = 0
        self.is_cut = False
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def listen(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0,
                                                 family=socket.AF_INET)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.hub.upstream)
        except OSError:
            writer.close()  # the broker itself is down: the bridge sees a refused session
            return
        pair = {writer, up_writer}
        self.writers |= pair
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self.writers -= pair
            for w in pair:
                w.close()

    def cut(self, on: bool) -> None:
        def apply() -> None:
            self.is_cut = on
            if on:
                for w in list(self.writers):
                    w.transport.abort()

        self.hub.call(apply)

    def shutdown(self) -> None:
        if self.server is not None:
            self.server.close()
        for w in list(self.writers):
            w.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
