"""Who is calling: HTTP Basic credentials, checked per the config's auth mode.

``passthrough``: the request's user and password are the cloud's key and
secret (Deltacloud's way); the provider judges them. ``static``: users and
salted PBKDF2 hashes live in the config and the cloud credentials in the
provider's table, so clients never hold cloud keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from collections.abc import Mapping

from gateway.cimi.errors import Unauthorized
from providers.base import Credentials
from providers.base import Provider

_SCHEME = "pbkdf2_sha256"
_ITERATIONS = 260_000


def hash_password(password: str, *, iterations: int = _ITERATIONS) -> str:
    """Return a salted hash of ``password`` for ``[auth.users]``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return "$".join(
        (
            _SCHEME,
            str(iterations),
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        )
    )


def verify_password(password: str, hashed: str) -> bool:
    """Tell whether ``password`` matches a hash from ``hash_password``."""
    try:
        scheme, iterations, salt, digest = hashed.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), base64.b64decode(salt), int(iterations)
        )
    except (ValueError, binascii.Error):
        return False
    return scheme == _SCHEME and hmac.compare_digest(actual, expected)


def basic_credentials(header: str | None) -> Credentials:
    """Return the user and password of an ``Authorization: Basic`` header.

    Raises:
        Unauthorized: when the header is missing or not Basic.
    """
    if not header:
        raise Unauthorized("credentials are required (HTTP Basic)")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise Unauthorized("only HTTP Basic authentication is supported")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as ex:
        raise Unauthorized("malformed HTTP Basic credentials") from ex
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        raise Unauthorized("malformed HTTP Basic credentials")
    return Credentials(user, password)


class Authenticator:
    """Turn a request's Authorization header into the credentials to act with.

    Args:
        mode: ``passthrough`` or ``static``.
        users: user name to password hash, for ``static``.
    """

    def __init__(self, mode: str, users: Mapping[str, str]) -> None:
        self.mode = mode
        self.users = dict(users)
        # PERF(gw): PBKDF2 is slow on purpose; remember what verified once,
        # keyed by a fast digest so no password is kept in memory.
        self._verified: set[bytes] = set()
        self._lock = threading.Lock()

    def authenticate(self, header: str | None, provider: Provider) -> Credentials:
        """Return the cloud credentials for this request on ``provider``.

        Raises:
            Unauthorized: for missing or wrong credentials.
        """
        given = basic_credentials(header)
        if self.mode == "passthrough":
            provider.check_credentials(given)
            return given
        self._check_user(given)
        return Credentials(
            provider.settings["key"] or "",
            provider.settings["secret"] or "",
            secret_bound=False,
        )

    def _check_user(self, given: Credentials) -> None:
        token = hashlib.sha256(f"{given.user}\0{given.secret}".encode()).digest()
        with self._lock:
            if token in self._verified:
                return
        hashed = self.users.get(given.user)
        if hashed is None or not verify_password(given.secret, hashed):
            raise Unauthorized("unknown user or wrong password")
        with self._lock:
            self._verified.add(token)
