"""``{mount}/addresses`` and ``address_templates``: addresses apart from machines.

An AddressCreate allocates one (the cloud picks it; a template's ``ip`` and
the like are kept in the template, not asked of the cloud). An edit whose
``resource`` names a machine associates the address with it; the
``disassociate`` Action takes it off; a DELETE releases it, once it is off.
Each is one call the cloud answers at once: no jobs.
"""

from __future__ import annotations

import falcon

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from gateway.cimi.schema import ACTION
from gateway.cimi.schema import ADDRESS
from gateway.cimi.schema import ADDRESS_CREATE
from gateway.cimi.schema import ADDRESS_TEMPLATE
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import NETWORK
from gateway.cimi.schema import Document
from gateway.cimi.schema import action_name
from gateway.conditional import check_if_match
from gateway.listings import forgets_listings
from gateway.media import read
from gateway.resources.edits import check_read_only
from gateway.resources.expansion import resolver
from gateway.resources.links import Links
from gateway.resources.listing import collection
from gateway.resources.mount import Mount
from gateway.resources.templates import TemplateShape
from gateway.resources.templates import responder
from providers.base import DISASSOCIATE
from providers.base import Credentials
from providers.base import Provider
from providers.families import ServesAddresses
from providers.families import ServesNetworks


def _check_network(
    provider: Provider, links: Links, creds: Credentials, stored: dict
) -> None:
    ref = stored.get("network")
    if ref and "id" in ref and isinstance(provider, ServesNetworks):
        try:
            provider.get_network(creds, ref["id"])
        except NotFound as ex:
            raise BadRequest(f"network: {ex.message}") from ex


ADDRESS_TEMPLATES = TemplateShape(
    rtype=ADDRESS_TEMPLATE,
    kind="address_template",
    references={"network": NETWORK},
    plain=(
        "name",
        "description",
        "property",
        "ip",
        "hostname",
        "allocation",
        "defaultGateway",
        "dns",
        "protocol",
        "mask",
    ),
    required=(),
    check=_check_network,
)

AddressTemplates = responder(ADDRESS_TEMPLATES)


class Addresses:
    """The addresses of one provider's tenant."""

    def __init__(self, mount: Mount) -> None:
        self.mount = mount
        self.provider: ServesAddresses = mount.provider  # type: ignore[assignment]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        creds, links = req.context.credentials, self.mount.links(req)
        resp.media = collection(
            self.mount,
            req,
            ADDRESS,
            lambda narrow: self.provider.list_addresses(creds),
            can_add=True,
            resolve=resolver(links, self.mount, creds),
        )

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        creds, links = req.context.credentials, self.mount.links(req)
        address = self.provider.get_address(creds, id)
        resp.media = links.shown(ADDRESS, address, resolver(links, self.mount, creds))

    @forgets_listings
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Allocate an address; a template's ``resource``-less values are kept."""
        creds, links = req.context.credentials, self.mount.links(req)
        values = read(req, ADDRESS_CREATE)
        given = dict(values.get("addressTemplate") or {})
        href = given.pop("href", None)
        if href:
            template_id = links.local_id(href, ADDRESS_TEMPLATE)
            if template_id is None:
                raise BadRequest(
                    f"addressTemplate: '{href}' is not an AddressTemplate of "
                    f"{links.base_uri}"
                )
            try:
                ADDRESS_TEMPLATES.load(
                    self.mount.store, self.mount.namespace(creds), template_id
                )
            except NotFound as ex:
                raise BadRequest(f"addressTemplate: {ex.message}") from ex
        checked = ADDRESS_TEMPLATES.to_stored(links, given)
        _check_network(self.mount.provider, links, creds, checked)
        address = self.provider.allocate_address(creds, values)
        resp.status = falcon.HTTP_201
        resp.location = links.item(ADDRESS, address["id"])
        resp.media = links.document(ADDRESS, address)

    @forgets_listings
    def on_put_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        """Associate the address with the machine ``resource`` names."""
        creds, links = req.context.credentials, self.mount.links(req)
        given = read(req, ADDRESS, read_only=True)
        address = self.provider.get_address(creds, id)
        current = links.values(ADDRESS, address)
        check_if_match(req, Document(ADDRESS, current))
        wanted = given.pop("resource", None)
        check_read_only(links, ADDRESS, given, current)
        # A client PUTs back what it read: only what differs is an edit.
        changed = {
            name
            for name, value in given.items()
            if not ADDRESS.by_name[name].read_only and value != current.get(name)
        }
        if changed:
            raise BadRequest(
                f"{', '.join(sorted(changed))}: an edit of an address sets its "
                "resource only"
            )
        if wanted is not None:
            machine_id = links.local_id(wanted.get("href") or "", MACHINE)
            if machine_id is None:
                raise BadRequest(
                    f"resource: give the href of a machine of {links.base_uri}"
                )
            if address.get("resource") not in (None, machine_id):
                raise Conflict(
                    f"address {id} is associated with machine {address['resource']}: "
                    "disassociate it first"
                )
            if address.get("resource") != machine_id:
                try:
                    self.mount.provider.get_machine(creds, machine_id)  # type: ignore[attr-defined]
                except NotFound as ex:
                    # The address is there: what is missing is in the body.
                    raise BadRequest(f"resource: {ex.message}") from ex
                address = self.provider.associate_address(creds, id, machine_id)
        resp.media = links.document(ADDRESS, address)

    @forgets_listings
    def on_post_action(
        self, req: falcon.Request, resp: falcon.Response, id: str, action: str
    ) -> None:
        """Take the address off its machine (the ``disassociate`` Action)."""
        if action != DISASSOCIATE:
            raise NotFound(f"addresses have no {action} operation")
        body = read(req, ACTION)
        if action_name(body["action"]) != DISASSOCIATE:
            raise BadRequest(f"action: '{body['action']}' is not disassociate")
        creds, links = req.context.credentials, self.mount.links(req)
        address = self.provider.get_address(creds, id)
        if not address.get("resource"):
            raise Conflict(f"address {id} is associated with no machine")
        address = self.provider.disassociate_address(creds, id)
        resp.media = links.document(ADDRESS, address)

    @forgets_listings
    def on_delete_item(
        self, req: falcon.Request, resp: falcon.Response, id: str
    ) -> None:
        creds = req.context.credentials
        address = self.provider.get_address(creds, id)
        check_if_match(req, self.mount.links(req).document(ADDRESS, address))
        if address.get("resource"):
            raise Conflict(
                f"address {id} is associated with machine {address['resource']}: "
                "disassociate it first"
            )
        self.provider.release_address(creds, id)
        resp.status = falcon.HTTP_200
