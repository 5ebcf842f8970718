"""Credentials: HTTP Basic parsing and the salted hashes of static mode."""

from __future__ import annotations

import base64

import pytest

from gateway.auth import basic_credentials
from gateway.auth import hash_password
from gateway.auth import verify_password
from gateway.cimi.errors import Unauthorized


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_hash_is_salted_and_verifies():
    first, second = (
        hash_password("pw", iterations=1000),
        hash_password("pw", iterations=1000),
    )

    assert first != second
    assert verify_password("pw", first)
    assert not verify_password("pW", first)
    assert not verify_password("pw", "pbkdf2_sha256$garbage")


def test_basic_credentials_keep_colons_in_the_password():
    creds = basic_credentials(basic("AKID:se:cr:et"))

    assert (creds.user, creds.secret) == ("AKID", "se:cr:et")
    assert "se:cr:et" not in repr(creds)


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer abc", "Basic !!!", basic("no-colon"), basic(":nouser")],
    ids=["none", "empty", "bearer", "not-base64", "no-colon", "no-user"],
)
def test_bad_authorization_headers_are_401(header):
    with pytest.raises(Unauthorized):
        basic_credentials(header)


def test_identity_depends_on_the_secret_too():
    from providers.base import Credentials

    victim, guess = (
        Credentials("AKIAVICTIM", "realsecret"),
        Credentials("AKIAVICTIM", "x"),
    )

    assert victim.identity != guess.identity
    assert victim.identity == Credentials("AKIAVICTIM", "realsecret").identity
    assert "realsecret" not in victim.identity


def test_config_credentials_keep_their_tenant_across_a_rotated_secret():
    from providers.base import Credentials

    before = Credentials("AKIACONFIG", "old", secret_bound=False)
    after = Credentials("AKIACONFIG", "new", secret_bound=False)

    assert before.identity == after.identity
