"""Sends one webhook delivery over HTTP and reports what happened, never raising.

The connection goes to an address :func:`~bastion.adapters.webhooks.guard.resolve_safe`
approved: the request URL carries that IP, the ``Host`` header the original
host, and for https the TLS server name (SNI) and certificate check use the
original host too. The name is resolved once per attempt, so a DNS answer
that changes after the check (DNS rebinding) is never connected to.

Connections are not kept alive between deliveries: a pooled TLS connection is
keyed by the IP, and two webhook hosts behind one IP (a CDN) would otherwise
share a connection whose certificate was checked for only one of them.

Redirects are not followed (the target would escape the check); a 3xx is a
failed delivery. Proxy environment variables are ignored for the same reason.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from bastion.adapters.webhooks.guard import (
    OutboundPolicy,
    UnsafeWebhookUrl,
    check_url,
    resolve_safe,
)

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "DeliveryOutcome", "WebhookSender"]

DEFAULT_MAX_RESPONSE_BYTES = 4096
"""How much of a response body is kept for the delivery log."""

_MAX_ERROR_CHARS = 300
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """The result of one delivery attempt, as it goes into the delivery log."""

    status: int | None
    """The HTTP status, ``None`` when no response came (refused URL, timeout, network error)."""
    ok: bool
    """The receiver answered 2xx."""
    error: str | None
    """Why the attempt failed, in a short sentence; ``None`` when ``ok``."""
    duration_seconds: float
    response_excerpt: str
    """The start of the response body (at most ``max_response_bytes``, decoded leniently)."""


class WebhookSender:
    """POSTs webhook deliveries through one shared HTTP client; close it with :meth:`aclose`.

    Args:
        policy: Which non-public addresses may be sent to.
        timeout_seconds: The bound on a whole attempt: resolution, connection, response.
        max_response_bytes: How much of a response body is read.
        verify: Certificate verification for https (an ``ssl.SSLContext`` for a
            private CA); on by default.
    """

    def __init__(
        self,
        policy: OutboundPolicy,
        timeout_seconds: float = 10.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        *,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        if timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be positive, not {timeout_seconds}")
        if max_response_bytes < 0:
            raise ValueError(f"max_response_bytes must be >= 0, not {max_response_bytes}")
        self.policy = policy
        self.timeout_seconds = timeout_seconds
        self.max_response_bytes = max_response_bytes
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            verify=verify,
            timeout=httpx.Timeout(timeout_seconds),
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"user-agent": "Bastion-Webhooks"},
        )

    async def aclose(self) -> None:
        """Close the HTTP client (at shutdown)."""
        await self._client.aclose()

    async def send(self, url: str, headers: Mapping[str, str], body: bytes) -> DeliveryOutcome:
        """POST ``body`` with ``headers`` to ``url``; every failure becomes an outcome.

        Args:
            url: The endpoint's URL.
            headers: The signed headers (see ``bastion.core.webhooks.signed_headers``).
            body: The request body, exactly as signed.
        """
        started = time.perf_counter()
        status: int | None = None
        excerpt = ""
        try:
            async with asyncio.timeout(self.timeout_seconds):
                status, excerpt = await self._post(url, headers, body)
            error = None if 200 <= status < 300 else _status_error(status)
        except UnsafeWebhookUrl as exc:
            error = str(exc)
        except (TimeoutError, httpx.TimeoutException):
            error = f"no response within {self.timeout_seconds:g} s (timed out)"
        except httpx.HTTPError as exc:
            error = _network_error(exc)
        except OSError as exc:  # name resolution (socket.gaierror)
            error = f"could not resolve the webhook host: {exc.strerror or exc}"[:_MAX_ERROR_CHARS]
        return DeliveryOutcome(
            status=status,
            ok=error is None,
            error=error,
            duration_seconds=time.perf_counter() - started,
            response_excerpt=excerpt,
        )

    async def _post(self, url: str, headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
        target = check_url(url, self.policy)
        port = target.port or _DEFAULT_PORTS[target.scheme]
        addresses = await resolve_safe(target.host, port, self.policy)
        last_error: httpx.ConnectError | None = None
        for address in addresses:
            try:
                return await self._post_to(address, target, headers, body)
            except httpx.ConnectError as exc:  # try the host's next address
                last_error = exc
        assert last_error is not None  # resolve_safe returns at least one address
        raise last_error

    async def _post_to(
        self, address: str, target: httpx.URL, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, str]:
        extensions: dict[str, str] = {}
        if target.scheme == "https":
            extensions["sni_hostname"] = target.raw_host.decode("ascii")
        request = self._client.build_request(
            "POST",
            target.copy_with(host=address.split("%", 1)[0]),
            headers={
                **headers,
                "host": target.netloc.decode("ascii"),
                # The excerpt is cut from the raw bytes: no decompression bomb.
                "accept-encoding": "identity",
            },
            content=body,
            extensions=extensions,
        )
        response = await self._client.send(request, stream=True)
        try:
            excerpt = await self._excerpt(response)
        finally:
            await response.aclose()
        return response.status_code, excerpt

    async def _excerpt(self, response: httpx.Response) -> str:
        kept = bytearray()
        if self.max_response_bytes:
            async for chunk in response.aiter_raw():
                kept += chunk[: self.max_response_bytes - len(kept)]
                if len(kept) >= self.max_response_bytes:
                    break
        return kept.decode("utf-8", errors="replace")


def _status_error(status: int) -> str:
    if 300 <= status < 400:
        return f"HTTP {status}: redirects are not followed; point the webhook at the final URL"
    return f"HTTP {status}: the receiver did not accept the delivery (expected 2xx)"


def _network_error(exc: httpx.HTTPError) -> str:
    detail = (str(exc) or type(exc).__name__)[:_MAX_ERROR_CHARS]
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect: {detail}"
    return f"{type(exc).__name__}: {detail}"
