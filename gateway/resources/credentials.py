"""``{mount}/credentials`` and ``credential_templates``: SSH key pairs.

A CredentialCreate whose template (by href or by value) carries a ``key``
imports that public key; one without (or with no template) asks the cloud to
generate a pair, and
the private key comes back once, in that response (as the ``privateKey``
property): the gateway keeps and logs none. A credential's id is the key
pair's name, which a MachineTemplate's ``credential`` href names.
"""

from __future__ import annotations

import re
import uuid

import falcon

from gateway.cimi.errors import BadRequest
from gateway.cimi.schema import CREDENTIAL
from gateway.cimi.schema import CREDENTIAL_CREATE
from gateway.cimi.schema import CREDENTIAL_TEMPLATE
from gateway.conditional import check_if_match
from gateway.listings import forgets_listings
from gateway.media import read
from gateway.resources.listing import collection
from gateway.resources.mount import Mount
from gateway.resources.templates import TemplateShape
from gateway.resources.templates import responder
from providers.families import ServesCredentials
from providers.keys import key_hex
from providers.keys import public_key_line

#: a key pair's name: what every cloud takes, and a clean URL segment.
_NAME = re.compile(r"[A-Za-z0-9._-]{1,128}")


def check_credential_name(name: str) -> None:
    """Refuse a name no key pair can have, or no URL segment can hold.

    Raises:
        BadRequest: naming ``name``.
    """
    if not _NAME.fullmatch(name) or name in (".", ".."):
        raise BadRequest(
            f"name: {name[:60]!r}; a credential's name is 1 to 128 letters, "
            "digits, '.', '_' or '-', other than '.' and '..'"
        )


def _check_key(values: dict) -> None:
    # Kept as the key line, shown in hex as a Credential's key is.
    if "key" in values:
        values["key"] = public_key_line(values["key"])


def _key_in_hex(values: dict) -> dict:
    if values.get("key"):
        values["key"] = key_hex(public_key_line(values["key"]))
    return values


CREDENTIAL_TEMPLATES = TemplateShape(
    rtype=CREDENTIAL_TEMPLATE,
    kind="credential_template",
    references={},
    plain=("name", "description", "property", "userName", "key"),
    required=(),
    check=lambda provider, links, creds, stored: None,
    checked_values=_check_key,
    shown_values=_key_in_hex,
)

CredentialTemplates = responder(CREDENTIAL_TEMPLATES)


def shown(answer: dict) -> dict:
    """Return a provider's key pair as Credential values (``key`` in hex)."""
    values = {k: v for k, v in answer.items() if k not in ("key", "fingerprint")}
    if answer.get("key"):
        values["key"] = key_hex(answer["key"])
    if answer.get("fingerprint"):
        values["property"] = {"fingerprint": answer["fingerprint"]}
    return values


class Credentials:
    """The key pairs of one provider's tenant."""

    def __init__(self, mount: Mount) -> None:
        self.mount = mount
        self.provider: ServesCredentials = mount.provider  # type: ignore[assignment]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        creds = req.context.credentials
        resp.media = collection(
            self.mount,
            req,
            CREDENTIAL,
            lambda narrow: [shown(a) for a in self.provider.list_credentials(creds)],
            can_add=True,
        )

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        answer = self.provider.get_credential(req.context.credentials, id)
        resp.media = self.mount.links(req).shown(CREDENTIAL, shown(answer))

    @forgets_listings
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Import a public key, or have the cloud generate a key pair."""
        creds, links = req.context.credentials, self.mount.links(req)
        values = read(req, CREDENTIAL_CREATE)
        merged = CREDENTIAL_TEMPLATES.merged(
            self.mount.store,
            self.mount.namespace(creds),
            links,
            "credentialTemplate",
            values.get("credentialTemplate") or {},
        )
        name = (
            values.get("name") or merged.get("name") or f"cimi-{uuid.uuid4().hex[:8]}"
        )
        check_credential_name(name)
        if "key" in merged:
            answer = self.provider.import_credential(
                creds, name, public_key_line(merged["key"])
            )
            values = shown(answer)
        else:
            answer, private_key = self.provider.generate_credential(creds, name)
            values = shown(answer)
            # Once, here: the gateway keeps no private key.
            values["property"] = {
                **values.get("property", {}),
                "privateKey": private_key,
            }
            # No cache between us and the client may keep it either.
            resp.cache_control = ("no-store",)
        resp.status = falcon.HTTP_201
        resp.location = links.item(CREDENTIAL, answer["id"])
        resp.media = links.document(CREDENTIAL, values)

    @forgets_listings
    def on_delete_item(
        self, req: falcon.Request, resp: falcon.Response, id: str
    ) -> None:
        creds = req.context.credentials
        answer = self.provider.get_credential(creds, id)
        check_if_match(req, self.mount.links(req).document(CREDENTIAL, shown(answer)))
        self.provider.delete_credential(creds, id)
        resp.status = falcon.HTTP_200
