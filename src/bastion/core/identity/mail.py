"""Account emails: the message handed to a sender, and the senders core provides."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = [
    "CallableMailer",
    "LogMailer",
    "OutgoingMail",
    "UndeliveredMailer",
    "send_in_background",
]

log = logging.getLogger("bastion.mail")

_IN_FLIGHT: set[asyncio.Task[None]] = set()
"""Messages being sent in the background (kept, so their tasks are not collected)."""


async def send_in_background(send: Callable[[], Awaitable[None]]) -> None:
    """Start ``send`` without waiting for it to finish; a failure is logged.

    For answers that must not take longer when a message goes out (a password
    reset for an address that has an account) than when none does. The sender
    gets one turn at once, so one that needs no I/O has already sent it.
    """

    async def logged() -> None:
        try:
            await send()
        except Exception:
            log.exception("an account email could not be sent")

    task = asyncio.get_running_loop().create_task(logged())
    _IN_FLIGHT.add(task)
    task.add_done_callback(_IN_FLIGHT.discard)
    await asyncio.sleep(0)


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One account email, as given to a configured sender (``BASTION_EMAIL_SENDER``)."""

    to: str
    subject: str
    body: str
    """The text, holding the link or token the recipient needs."""
    purpose: str
    """``verify_email``, ``reset_password`` or ``invitation``."""


class LogMailer:
    """An :class:`~bastion.core.identity.store.AccountMailer` that writes each message
    to the ``bastion.mail`` logger at INFO, token included.

    For development only: anyone who reads the log can use the tokens.
    """

    async def send(self, *, to: str, subject: str, body: str, purpose: str) -> None:
        """Log the message."""
        log.info("mail (%s) to %s: %s\n%s", purpose, to, subject, body)


class UndeliveredMailer:
    """The production default when no sender is configured: nothing is sent, and a
    warning (without the address or the token) says how to configure one."""

    async def send(self, *, to: str, subject: str, body: str, purpose: str) -> None:
        """Warn that the message was dropped."""
        log.warning(
            "a %s email was not sent: set BASTION_EMAIL_SENDER to package.module:function "
            "(an async function receiving bastion.core.identity.mail.OutgoingMail)",
            purpose,
        )


class CallableMailer:
    """An :class:`~bastion.core.identity.store.AccountMailer` that hands each message,
    as an :class:`OutgoingMail`, to an async callable (the project's email sender)."""

    def __init__(self, sender: Callable[[OutgoingMail], Awaitable[None]]) -> None:
        self._sender = sender

    async def send(self, *, to: str, subject: str, body: str, purpose: str) -> None:
        """Call the sender with the message."""
        await self._sender(OutgoingMail(to=to, subject=subject, body=body, purpose=purpose))
