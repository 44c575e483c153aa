"""Account emails: the message handed to a sender, and the senders core provides."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["CallableMailer", "LogMailer", "OutgoingMail", "UndeliveredMailer"]

log = logging.getLogger("bastion.mail")


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
