"""Public keys as clients give them: whole OpenSSH keys, one line, or a 400."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.cimi.errors import BadRequest
from providers.keys import fingerprint
from providers.keys import key_hex
from providers.keys import public_key_line


def _line(private_key) -> str:
    return (
        private_key.public_key()
        .public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        .decode()
    )


ED25519 = _line(ed25519.Ed25519PrivateKey.generate())
RSA = _line(rsa.generate_private_key(public_exponent=65537, key_size=2048))
ECDSA = _line(ec.generate_private_key(ec.SECP256R1()))


@pytest.mark.parametrize("line", [ED25519, RSA, ECDSA], ids=["ed25519", "rsa", "ecdsa"])
def test_a_whole_key_is_taken_as_a_line_or_as_hex(line):
    assert public_key_line(f"{line} me@laptop") == f"{line} me@laptop"
    assert public_key_line(key_hex(f"{line} me@laptop")) == f"{line} me@laptop"
    assert public_key_line(f"  {line}\n") == line
    assert fingerprint(line).startswith("SHA256:")


def _blob(*fields: bytes) -> str:
    return base64.b64encode(b"".join(struct.pack(">I", len(f)) + f for f in fields))


@pytest.mark.parametrize(
    "key",
    [
        # The type named inside and one byte of key: no whole ed25519 key.
        "ssh-ed25519 " + _blob(b"ssh-ed25519", b"x").decode(),
        RSA[:200],
        # An ed25519 blob under the name of another type.
        "ssh-rsa " + ED25519.split()[1],
        "ssh-ed25519 not*base64",
        "ssh-dss AAAAB3NzaC1kc3MAAACBAP",
    ],
    ids=["truncated-ed25519", "cut-rsa", "wrong-type", "not-base64", "dsa"],
)
def test_what_is_not_a_whole_key_is_refused(key):
    with pytest.raises(BadRequest, match="^key: "):
        public_key_line(key)


@pytest.mark.parametrize(
    "comment",
    ["me\nssh-rsa AAAAB3Nza attacker", "me\rx", "me\x00", "me\x07", "a\u2028b"],
)
def test_a_comment_cannot_carry_a_second_line(comment):
    # authorized_keys is one key a line: a break would smuggle in another.
    line = f"{ED25519} {comment}"
    for given in (line, key_hex(line)) if line.isascii() else (line,):
        with pytest.raises(BadRequest, match="line breaks"):
            public_key_line(given)
