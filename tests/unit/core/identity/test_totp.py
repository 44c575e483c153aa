"""TOTP: codes of the current and adjacent steps are accepted once, others refused."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from bastion.core.identity import new_totp_secret, provisioning_uri, verify_totp
from bastion.core.identity.otp import TOTP_PERIOD, totp_step

NOW = datetime(2026, 3, 1, 12, 0, 10, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def code_at(at: datetime, secret: str = SECRET) -> str:
    return str(pyotp.TOTP(secret).at(at))


def test_a_new_secret_is_160_bits_of_base32() -> None:
    secret = new_totp_secret()
    assert len(secret) == 32
    assert len(base64.b32decode(secret)) == 20
    assert secret != new_totp_secret()


def test_the_provisioning_uri_names_account_and_issuer() -> None:
    uri = urlparse(provisioning_uri(SECRET, account="ada@example.com", issuer="Shop"))
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    query = parse_qs(uri.query)
    assert query["secret"] == [SECRET]
    assert query["issuer"] == ["Shop"]
    assert "ada%40example.com" in uri.path or "ada@example.com" in uri.path


def test_the_current_code_is_accepted_and_its_step_returned() -> None:
    assert verify_totp(SECRET, code_at(NOW), at=NOW, last_used_step=None) == totp_step(NOW)


@pytest.mark.parametrize("offset", [-1, 1])
def test_a_code_one_step_away_is_accepted(offset: int) -> None:
    at = NOW + timedelta(seconds=offset * TOTP_PERIOD)
    assert verify_totp(SECRET, code_at(at), at=NOW, last_used_step=None) == totp_step(at)


@pytest.mark.parametrize("offset", [-2, 2])
def test_a_code_two_steps_away_is_refused(offset: int) -> None:
    at = NOW + timedelta(seconds=offset * TOTP_PERIOD)
    assert verify_totp(SECRET, code_at(at), at=NOW, last_used_step=None) is None


def test_a_code_cannot_be_used_twice() -> None:
    step = verify_totp(SECRET, code_at(NOW), at=NOW, last_used_step=None)
    assert step is not None
    assert verify_totp(SECRET, code_at(NOW), at=NOW, last_used_step=step) is None


def test_an_older_step_than_the_last_used_is_refused() -> None:
    earlier = NOW - timedelta(seconds=TOTP_PERIOD)
    last = totp_step(NOW)
    assert verify_totp(SECRET, code_at(earlier), at=NOW, last_used_step=last) is None


def test_the_next_step_is_accepted_after_the_current_one_was_used() -> None:
    later = NOW + timedelta(seconds=TOTP_PERIOD)
    step = verify_totp(SECRET, code_at(later), at=NOW, last_used_step=totp_step(NOW))
    assert step == totp_step(NOW) + 1


def test_spaces_in_a_code_are_ignored() -> None:
    code = code_at(NOW)
    assert verify_totp(SECRET, f" {code[:3]} {code[3:]} ", at=NOW, last_used_step=None) is not None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_a_code_that_is_not_six_ascii_digits_is_refused(code: str) -> None:
    assert verify_totp(SECRET, code, at=NOW, last_used_step=None) is None


def test_a_code_of_another_secret_is_refused() -> None:
    other = code_at(NOW, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
    assert other != code_at(NOW)
    assert verify_totp(SECRET, other, at=NOW, last_used_step=None) is None


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        verify_totp(SECRET, "123456", at=datetime(2026, 3, 1), last_used_step=None)
