"""Credentials (SSH key pairs) written once over libcloud's key pair calls."""

from __future__ import annotations

import contextlib

from libcloud.compute.base import KeyPair
from libcloud.compute.base import NodeDriver

from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from providers.base import DELETE
from providers.base import Credentials
from providers.families import ServesCredentials
from providers.keys import fingerprint


class LibcloudCredentials(ServesCredentials):
    """Key pairs over a libcloud driver; mix in before ``LibcloudProvider``."""

    def find_key_pair(self, driver: NodeDriver, name: str) -> KeyPair:
        """Return one key pair; raise ``NotFound`` when the cloud has none."""
        for pair in driver.list_key_pairs():
            if pair.name == name:
                return pair
        raise NotFound(f"no credential {name}")

    def to_credential(self, pair: KeyPair) -> dict:
        """Map a libcloud key pair to Credential values."""
        line = (pair.public_key or "").strip()
        found = pair.fingerprint or (fingerprint(line) if line else "")
        return {
            "id": pair.name,
            "name": pair.name,
            "key": line,
            "fingerprint": found,
            "operations": (DELETE,),
        }

    def list_credentials(self, creds: Credentials) -> list[dict]:
        driver = self.driver(creds)
        with self.calling(creds, "list_credentials"):
            pairs = driver.list_key_pairs()
        return [self.to_credential(pair) for pair in pairs]

    def get_credential(self, creds: Credentials, name: str) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "get_credential"):
            return self.to_credential(self.find_key_pair(driver, name))

    def import_credential(self, creds: Credentials, name: str, public_key: str) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "import_credential"):
            self._check_free(driver, name)
            pair = driver.import_key_pair_from_string(name, public_key)
            pair = self.find_key_pair(driver, name) if not pair.public_key else pair
        return {**self.to_credential(pair), "key": pair.public_key or public_key}

    def generate_credential(self, creds: Credentials, name: str) -> tuple[dict, str]:
        driver = self.driver(creds)
        with self.calling(creds, "generate_credential"):
            self._check_free(driver, name)
            pair = driver.create_key_pair(name)
            private_key = pair.private_key or ""
            # Read back: the pair with its public key, and the driver's
            # connection keeps this answer now, not the one holding the
            # private key (cached drivers live long).
            with contextlib.suppress(NotFound):  # not listed yet: as made
                pair = self.find_key_pair(driver, name)
        return self.to_credential(pair), private_key

    def delete_credential(self, creds: Credentials, name: str) -> None:
        driver = self.driver(creds)
        with self.calling(creds, "delete_credential"):
            driver.delete_key_pair(self.find_key_pair(driver, name))

    def _check_free(self, driver: NodeDriver, name: str) -> None:
        if any(pair.name == name for pair in driver.list_key_pairs()):
            raise Conflict(f"a credential named {name} exists already")
