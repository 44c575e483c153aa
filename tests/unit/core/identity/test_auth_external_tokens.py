"""Tokens of a trusted external OIDC provider authenticate as their subject."""

from __future__ import annotations

from typing import Any, cast

import pytest

from bastion.core.errors import NotAuthenticated
from bastion.core.identity.authentication import Authenticator
from bastion.core.identity.config import IdentityConfig
from bastion.core.ports import ExternalClaims, TokenRejected, TokenSigner
from bastion.core.records import RecordService


class _Provider:
    def matches(self, token: str) -> bool:
        return token.startswith("ext.")

    async def verify(self, token: str) -> ExternalClaims:
        if token != "ext.good":
            raise TokenRejected("bad_signature")
        return ExternalClaims(subject="kc|42", roles=frozenset({"staff"}), tenant="t1", scopes=None)


class _NoSigner:
    async def verify(self, token: str) -> dict[str, Any]:
        raise TokenRejected("malformed")


def _authenticator() -> Authenticator:
    # The external path never touches the store.
    return Authenticator(
        cast(RecordService, None),
        cast(TokenSigner, _NoSigner()),
        IdentityConfig(),
        external=_Provider(),
    )


async def test_an_external_token_becomes_a_context_for_its_subject() -> None:
    ctx = await _authenticator().authenticate(
        "Bearer ext.good", client_ip="192.0.2.1", request_id="r1"
    )
    assert ctx.actor == "kc|42"
    assert ctx.roles == frozenset({"staff"})
    assert ctx.tenant == "t1"
    assert ctx.scopes is None
    assert ctx.credential == "external"
    assert (ctx.client_ip, ctx.request_id) == ("192.0.2.1", "r1")


@pytest.mark.parametrize("header", ["Bearer ext.forged", "Bearer not-ours", "Token x", "Bearer"])
async def test_other_credentials_are_refused(header: str) -> None:
    with pytest.raises(NotAuthenticated):
        await _authenticator().authenticate(header, client_ip=None, request_id=None)
