"""Which passwords to accept, after NIST SP 800-63B: a minimum length, no common
or trivially guessable passwords, and no composition rules (no "one digit, one
symbol"), which make passwords harder to remember without making them harder
to guess."""

from __future__ import annotations

import functools
from dataclasses import dataclass

__all__ = ["PasswordPolicy"]

_MIN_LOCAL_PART = 4


@functools.cache
def _common_passwords() -> frozenset[str]:
    # Imported here: the list is large, and only password changes need it.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.casefold() for word in FREQUENCY_LISTS["passwords"])


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """The rules a new password must follow.

    Raises:
        ValueError: On construction, if ``min_length`` is below 1 or above ``max_length``.
    """

    min_length: int = 10
    max_length: int = 128

    def __post_init__(self) -> None:
        if not 1 <= self.min_length <= self.max_length:
            raise ValueError("a password policy needs 1 <= min_length <= max_length")

    def problems(self, password: str, *, email: str | None = None) -> list[str]:
        """What is wrong with ``password``, each reason saying how to fix it; empty if nothing.

        Args:
            password: The candidate password.
            email: The account's email address, which the password must not contain.
        """
        found: list[str] = []
        if len(password) < self.min_length:
            found.append(f"Too short: use at least {self.min_length} characters.")
        if len(password) > self.max_length:
            found.append(f"Too long: use at most {self.max_length} characters.")
        if email and _contains_email(password, email):
            found.append("Contains your email address: leave it out of your password.")
        folded = password.casefold()
        if folded in _common_passwords():
            found.append(
                "Too common: it is on lists of frequently used passwords; "
                "choose one that is not, such as a few unrelated words."
            )
        if len(set(password)) == 1:
            found.append("One character repeated: use different characters.")
        return found


def _contains_email(password: str, email: str) -> bool:
    folded = password.casefold()
    address = email.strip().casefold()
    local_part = address.partition("@")[0]
    if address and address in folded:
        return True
    return len(local_part) >= _MIN_LOCAL_PART and local_part in folded
