"""``POST /v1/auth/token``: the OAuth 2.0 token endpoint (RFC 6749).

Parameters come form-encoded (as RFC 6749 says) or as a JSON object. Grants:
``password`` (``username`` is the email), ``refresh_token``,
``client_credentials`` (``client_id`` is the service account's id; the
credentials may come by HTTP Basic instead) and
``urn:bastion:params:oauth:grant-type:mfa-otp`` (``mfa_token`` and ``otp``),
which completes a sign-in answered with ``mfa_required``. Every answer carries
``Cache-Control: no-store``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.api.rest.http import json_response, request_context
from bastion.api.rest.problems import Problem
from bastion.core.errors import OAuthError
from bastion.core.identity.container import Identity

__all__ = ["MFA_OTP_GRANT", "NO_STORE", "read_params", "token_routes"]

MFA_OTP_GRANT = "urn:bastion:params:oauth:grant-type:mfa-otp"
"""The grant that completes a sign-in with its second factor."""

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
"""Headers of every response that holds tokens."""

_MAX_BYTES = 16_384
_FORM = "application/x-www-form-urlencoded"


async def _read_bytes(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > _MAX_BYTES:
            raise Problem(
                413,
                "payload_too_large",
                "Payload too large",
                f"the body is larger than the {_MAX_BYTES} bytes this endpoint accepts",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _invalid(detail: str) -> OAuthError:
    return OAuthError("invalid_request", detail)


async def read_params(request: Request) -> dict[str, str]:
    """The request's parameters, form-encoded or a JSON object of strings.

    Raises:
        OAuthError: ``invalid_request`` for a malformed body or a repeated parameter.
        Problem: 415 for another media type, 413 for a large body.
    """
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == _FORM:
        raw = await _read_bytes(request)
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            raise _invalid("the body is not valid form data") from None
        params: dict[str, str] = {}
        for name, value in pairs:
            if name in params:
                raise _invalid(f"the parameter {name!r} is repeated")
            params[name] = value
        return params
    if media == "application/json" or media.endswith("+json"):
        try:
            body: Any = orjson.loads(await _read_bytes(request))
        except orjson.JSONDecodeError:
            raise _invalid("the body is not valid JSON") from None
        if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
            raise _invalid("the body must be a JSON object of strings")
        return body
    raise Problem(
        415,
        "unsupported_media_type",
        "Unsupported media type",
        f"send the parameters as {_FORM} or application/json (got {media or 'no Content-Type'})",
        headers={"Accept-Post": f"{_FORM}, application/json"},
    )


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise _invalid(f"the parameter {name!r} is required")
    return value


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The client id and secret of an ``Authorization: Basic`` header, if any.

    Raises:
        OAuthError: ``invalid_client`` (401) for a malformed header.
    """
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "malformed Basic credentials", status=401) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError("invalid_client", "malformed Basic credentials", status=401)
    # RFC 6749 section 2.3.1: both parts are form-encoded before Basic encoding.
    return unquote_plus(client_id), unquote_plus(secret)


def token_routes(identity: Identity) -> list[BaseRoute]:
    """The token endpoint."""
    accounts = identity.accounts

    async def token(request: Request) -> Response:
        await identity.tokens.prepare()
        params = await read_params(request)
        ctx = request_context(request)
        grant = params.get("grant_type")
        scope = params.get("scope") or None
        if grant == "password":
            pair = await accounts.password_grant(
                _required(params, "username"), _required(params, "password"), scope=scope, ctx=ctx
            )
        elif grant == "refresh_token":
            pair = await identity.tokens.refresh(
                _required(params, "refresh_token"), scope=scope, ctx=ctx
            )
        elif grant == "client_credentials":
            basic = basic_credentials(request)
            if basic is None:
                basic = _required(params, "client_id"), _required(params, "client_secret")
            elif "client_secret" in params:
                raise _invalid("send the client credentials one way only")
            pair = await accounts.client_credentials_grant(*basic, scope=scope, ctx=ctx)
        elif grant == MFA_OTP_GRANT:
            pair = await accounts.mfa_grant(
                _required(params, "mfa_token"), _required(params, "otp"), scope=scope, ctx=ctx
            )
        elif not grant:
            raise _invalid("the parameter 'grant_type' is required")
        else:
            raise OAuthError("unsupported_grant_type", f"the grant type {grant!r} is not supported")
        return json_response(pair.as_json(), headers=NO_STORE)

    return [Route("/v1/auth/token", token, methods=["POST"])]
