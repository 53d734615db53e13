"""Self-service rating (自助评价): the check code printed on a case's receipt.

The applicant rates a completed case without signing in, by the case number and the check code on the
receipt (as the 渝快办 receipts' 查询码). The code is 8 characters from an alphabet without look-alikes
(no 0/O, 1/I/L), about 40 bits: with the API's rate limit per client and per case number, guessing it is
out of reach. Only its SHA-256 with the number is stored, so a copy of the database cannot rate cases.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

ALPHABET: Final = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH: Final = 8


def new_check_code() -> str:
    """A fresh code from the system's cryptographic source (never derived from the number)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(code: str) -> str:
    """What the applicant typed, as printed: upper case, without spaces or dashes."""
    return "".join(ch for ch in code.upper() if ch not in " -\t")


def check_digest(number: str, code: str) -> str:
    return hashlib.sha256(f"{number}\n{normalise(code)}".encode()).hexdigest()


def matches(number: str, code: str, digest: str | None) -> bool:
    """True when ``code`` is the one printed on the receipt of case ``number`` (constant-time compare)."""
    return digest is not None and hmac.compare_digest(check_digest(number, code), digest)


def well_formed(code: str) -> bool:
    c = normalise(code)
    return len(c) == LENGTH and all(ch in ALPHABET for ch in c)
