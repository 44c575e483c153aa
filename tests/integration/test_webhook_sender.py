"""The webhook sender against a real HTTP(S) receiver on loopback, and its SSRF guard."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from bastion.adapters.webhooks import OutboundPolicy, UnsafeWebhookUrl, WebhookSender, check_url
from bastion.core.webhooks import new_secret, signed_headers

LOOPBACK_OK = OutboundPolicy(allow_private=True)
BODY = json.dumps({"type": "orders.created", "data": {"id": "o-1"}}).encode()


@dataclass
class Receiver:
    """A webhook receiver: what it got, and where it listens."""

    port: int
    scheme: str = "http"
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"


def _app(receiver: Receiver) -> Starlette:
    async def record(request: Request) -> Response:
        body = await request.body()
        receiver.received.append((request.url.path, dict(request.headers), body))
        if request.url.path == "/fail":
            return PlainTextResponse("boom " * 5000, status_code=500)
        if request.url.path == "/redirect":
            return RedirectResponse("/ok", status_code=302)
        if request.url.path == "/slow":
            await asyncio.wait_for(receiver.release.wait(), timeout=10)
        return PlainTextResponse("thanks")

    return Starlette(routes=[Route("/{path}", record, methods=["POST"])])


@asynccontextmanager
async def serving(tls: tuple[Path, Path] | None = None) -> AsyncIterator[Receiver]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    receiver = Receiver(port=sock.getsockname()[1], scheme="https" if tls else "http")
    config = uvicorn.Config(
        _app(receiver),
        lifespan="off",
        ws="none",
        log_config=None,
        access_log=False,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )
    server = uvicorn.Server(config)
    # Listening before uvicorn starts: connections made meanwhile wait in the backlog.
    sock.listen()
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serving() as running:
        yield running


@asynccontextmanager
async def sender_for(
    policy: OutboundPolicy,
    timeout_seconds: float = 10.0,
    max_response_bytes: int = 4096,
    verify: ssl.SSLContext | bool = True,
) -> AsyncIterator[WebhookSender]:
    sender = WebhookSender(policy, timeout_seconds, max_response_bytes, verify=verify)
    try:
        yield sender
    finally:
        await sender.aclose()


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_webhook_sender_delivers_the_body_and_signed_headers(receiver: Receiver) -> None:
    secret = new_secret()
    headers = signed_headers(secret, "evt_1", BODY, datetime.now(UTC))
    async with sender_for(LOOPBACK_OK) as sender:
        outcome = await sender.send(receiver.url("/ok"), headers, BODY)

    assert outcome.ok, outcome.error
    assert (outcome.status, outcome.error, outcome.response_excerpt) == (200, None, "thanks")
    [(path, got_headers, got_body)] = receiver.received
    assert (path, got_body) == ("/ok", BODY)
    assert got_headers["host"] == f"127.0.0.1:{receiver.port}"
    assert Webhook(secret).verify(got_body, got_headers) == json.loads(BODY)


async def test_webhook_sender_a_500_is_a_failure_with_a_bounded_excerpt(
    receiver: Receiver,
) -> None:
    async with sender_for(LOOPBACK_OK, max_response_bytes=100) as sender:
        outcome = await sender.send(receiver.url("/fail"), {}, BODY)
    assert not outcome.ok
    assert outcome.status == 500
    assert outcome.error is not None
    assert "HTTP 500" in outcome.error
    assert outcome.response_excerpt == ("boom " * 20)


async def test_webhook_sender_does_not_follow_a_redirect(receiver: Receiver) -> None:
    async with sender_for(LOOPBACK_OK) as sender:
        outcome = await sender.send(receiver.url("/redirect"), {}, BODY)
    assert not outcome.ok
    assert outcome.status == 302
    assert outcome.error is not None
    assert "redirect" in outcome.error
    assert [path for path, _, _ in receiver.received] == ["/redirect"]


async def test_webhook_sender_times_out_a_slow_receiver(receiver: Receiver) -> None:
    async with sender_for(LOOPBACK_OK, timeout_seconds=0.3) as sender:
        outcome = await sender.send(receiver.url("/slow"), {}, BODY)
    assert not outcome.ok
    assert outcome.status is None
    assert outcome.error is not None
    assert "timed out" in outcome.error
    assert outcome.duration_seconds < 5


async def test_webhook_sender_reports_a_closed_port() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    async with sender_for(LOOPBACK_OK) as sender:
        outcome = await sender.send(f"http://127.0.0.1:{port}/ok", {}, BODY)
    assert not outcome.ok
    assert outcome.status is None
    assert outcome.error is not None
    assert outcome.error.startswith("could not connect")


async def test_webhook_sender_refuses_loopback_by_default(receiver: Receiver) -> None:
    async with sender_for(OutboundPolicy()) as sender:
        outcome = await sender.send(receiver.url("/ok"), {}, BODY)
    assert not outcome.ok
    assert outcome.status is None
    assert outcome.error is not None
    assert "loopback" in outcome.error
    assert "BASTION_WEBHOOK_ALLOW_PRIVATE=true" in outcome.error
    assert 'BASTION_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.1/32"]' in outcome.error
    assert receiver.received == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://100.64.0.1/hook",
        "http://localhost/hook",
        "http://2130706433/hook",
    ],
)
async def test_webhook_sender_refuses_internal_addresses(url: str) -> None:
    async with sender_for(OutboundPolicy(), timeout_seconds=2) as sender:
        outcome = await sender.send(url, {}, BODY)
    assert not outcome.ok
    assert outcome.status is None
    assert outcome.error is not None
    assert "BASTION_WEBHOOK_ALLOWED_NETWORKS" in outcome.error


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.com/hook", "https://"),
        ("file:///etc/passwd", "https://"),
        ("https://user:secret@example.com/hook", "user name or password"),
    ],
)
def test_webhook_sender_check_url_refuses_bad_shapes(url: str, problem: str) -> None:
    with pytest.raises(UnsafeWebhookUrl, match=problem) as caught:
        check_url(url, OutboundPolicy())
    assert "secret" not in str(caught.value)


async def test_webhook_sender_metadata_service_stays_refused_with_allow_private() -> None:
    async with sender_for(LOOPBACK_OK, timeout_seconds=2) as sender:
        outcome = await sender.send("http://169.254.169.254/latest/meta-data/", {}, BODY)
    assert outcome.error is not None
    assert "metadata" in outcome.error


async def test_webhook_sender_allowed_networks_let_loopback_through(receiver: Receiver) -> None:
    policy = OutboundPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))
    async with sender_for(policy) as sender:
        outcome = await sender.send(receiver.url("/ok"), {}, BODY)
        refused = await sender.send("http://10.0.0.1/hook", {}, BODY)
    assert outcome.ok, outcome.error
    assert not refused.ok
    assert len(receiver.received) == 1


async def test_webhook_sender_https_checks_the_certificate_of_the_hostname(
    tmp_path: Path,
) -> None:
    cert, key = _certificate(tmp_path, "localhost")
    trust = ssl.create_default_context(cafile=str(cert))
    async with (
        serving((cert, key)) as tls_receiver,
        sender_for(LOOPBACK_OK, verify=trust) as sender,
    ):
        # The connection goes to 127.0.0.1, the certificate names only "localhost".
        outcome = await sender.send(tls_receiver.url("/ok", host="localhost"), {}, BODY)
    assert outcome.ok, outcome.error
    [(_, headers, body)] = tls_receiver.received
    assert headers["host"] == f"localhost:{tls_receiver.port}"
    assert body == BODY


async def test_webhook_sender_https_refuses_a_certificate_for_another_name(
    tmp_path: Path,
) -> None:
    cert, key = _certificate(tmp_path, "elsewhere.invalid")
    trust = ssl.create_default_context(cafile=str(cert))
    async with (
        serving((cert, key)) as tls_receiver,
        sender_for(LOOPBACK_OK, verify=trust) as sender,
    ):
        outcome = await sender.send(tls_receiver.url("/ok", host="localhost"), {}, BODY)
    assert not outcome.ok
    assert outcome.status is None
    assert outcome.error is not None
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.error
    assert tls_receiver.received == []
