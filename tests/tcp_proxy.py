"""Test support: a TCP proxy on loopback that a test can cut, to simulate a server outage."""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["TcpProxy"]


class TcpProxy:
    """Forwards connections from a free loopback port to ``target_host:target_port``.

    The port is known once it listens (:attr:`port`).

    :meth:`cut` drops every open connection and refuses new ones, as a server
    that went down would; :meth:`restore` accepts again, on the same port.
    Use it as an async context manager.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        """The port it listens on (chosen by the system at :meth:`start`)."""

    async def start(self) -> None:
        """Listen (on a free port the first time, on the same port afterwards)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Close every connection and stop listening, so new connections are refused."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def restore(self) -> None:
        """Accept connections again."""
        if self._server is None:
            await self.start()

    async def close(self) -> None:
        """Cut everything for good."""
        await self.cut()

    async def __aenter__(self) -> TcpProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        upstream: asyncio.StreamWriter | None = None
        try:
            upstream_reader, upstream = await asyncio.open_connection(*self._target)
            self._writers.add(upstream)
            await asyncio.gather(self._pipe(reader, upstream), self._pipe(upstream_reader, writer))
        except OSError:
            pass
        finally:
            for end in (writer, upstream):
                if end is not None:
                    end.close()
                    self._writers.discard(end)
                    with contextlib.suppress(OSError):
                        await end.wait_closed()
            self._handlers.discard(task)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            # One direction ending ends the connection: closing the other side makes
            # the opposite pipe read EOF.
            writer.close()
