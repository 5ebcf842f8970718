"""SSH public keys as clients give them, checked before any cloud sees them.

A Credential's ``key`` is DSP8009's hexBinary: here the hex of an OpenSSH
public key line (``ssh-ed25519 AAAA... comment``). Clients of the era sent the
line itself; both are taken. A key is refused unless its Base64 blob decodes
and names, inside, the type its line names: a truncated or pasted-wrong key
is a 400 here, not a cloud's puzzling refusal later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from gateway.cimi.errors import BadRequest

#: the key types every cloud behind the gateway takes.
KEY_TYPES = (
    "ssh-rsa",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
)
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
#: the longest key line taken (an RSA 16384 key is about 2.8 kB).
MAX_KEY_CHARS = 8192


def public_key_line(given: str) -> str:
    """Return the OpenSSH public key line a client's ``key`` holds.

    Raises:
        BadRequest: naming ``key`` when it is not such a key.
    """
    text = given.strip()
    if _HEX.fullmatch(text):
        try:
            text = bytes.fromhex(text).decode("ascii").strip()
        except UnicodeDecodeError as ex:
            raise BadRequest("key: hex that is no OpenSSH public key") from ex
    if len(text) > MAX_KEY_CHARS:
        raise BadRequest(f"key: longer than {MAX_KEY_CHARS} characters")
    if not text.replace("\t", " ").isprintable():
        # One line, one key: a line break in the comment would slip a second
        # key into the machine's authorized_keys.
        raise BadRequest("key: one OpenSSH public key line, without line breaks")
    parts = text.split(None, 2)
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise BadRequest(
            "key: an OpenSSH public key line ('ssh-ed25519 AAAA...') of type "
            + ", ".join(KEY_TYPES)
        )
    kind, blob = parts[0], parts[1]
    try:
        base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError) as ex:
        raise BadRequest("key: its Base64 part does not decode") from ex
    try:
        # The whole key read as OpenSSH reads it: every field, of its length,
        # the curve of its type; a key cut short or padded is refused here.
        serialization.load_ssh_public_key(f"{kind} {blob}".encode("ascii"))
    except (ValueError, UnsupportedAlgorithm) as ex:
        raise BadRequest(f"key: the key inside is not a whole {kind} key") from ex
    return " ".join(parts)


def key_hex(line: str) -> str:
    """Return a public key line as the wire's hexBinary ``key``."""
    return line.encode("ascii").hex()


def fingerprint(line: str) -> str:
    """Return the OpenSSH SHA256 fingerprint of a public key line."""
    raw = base64.b64decode(line.split()[1])
    digest = base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"
