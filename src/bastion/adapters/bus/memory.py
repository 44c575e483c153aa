"""The in-process bus: the default broker, for a Bastion without a message broker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from bastion.core.ports.broker import OutboundMessage

__all__ = ["InProcessBus", "Subscriber"]

Subscriber = Callable[[OutboundMessage], Awaitable[None]]
"""Receives each published message (an ``async`` function)."""


class InProcessBus:
    """A :class:`~bastion.core.ports.broker.Broker` that hands each message to the
    callbacks of this process, in order, and keeps nothing.

    With no subscriber, publishing drops the messages (as a broker with no
    queue bound would). An exception raised by a subscriber propagates out of
    :meth:`publish`: the relay then publishes the batch again later, so every
    subscriber must tolerate seeing a message twice (deduplicate on its id).
    """

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` with every message published from now on.

        Returns:
            A function that unsubscribes ``callback``.
        """
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    async def start(self) -> None:
        """Nothing to connect to."""

    async def publish(self, messages: Sequence[OutboundMessage]) -> None:
        """Await each subscriber on each message, message by message, in order."""
        for message in messages:
            for subscriber in tuple(self._subscribers):
                await subscriber(message)

    async def ping(self) -> None:
        """Always answers: the bus is this process."""

    async def close(self) -> None:
        """Nothing to disconnect (subscribers stay registered)."""
