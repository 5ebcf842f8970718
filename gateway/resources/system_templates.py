"""``{mount}/system_templates``: SystemTemplates the gateway keeps per tenant.

A system template lists component descriptors: a component type (Machine,
Volume, Credential, System), how many, and the component's template by href
(one of this mount's templates of that kind) or by value. Inside a system
template, a machine template's ``credential`` may name another component of
the same template as ``#<its name>``: the credential the system makes.

Everything is checked when the template is written (the cloud has the
configurations and images named; a credential component carries a public
key, since a system has nowhere to hand a generated private key), and again
when a system is made from it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import NotFound
from gateway.cimi.schema import CREDENTIAL
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import SYSTEM
from gateway.cimi.schema import SYSTEM_TEMPLATE
from gateway.cimi.schema import VOLUME
from gateway.cimi.schema import ResourceType
from gateway.cimi.schema import type_uri
from gateway.resources.credentials import CREDENTIAL_TEMPLATES
from gateway.resources.credentials import check_credential_name
from gateway.resources.links import Links
from gateway.resources.machine_templates import MACHINE_TEMPLATES
from gateway.resources.machines import machine_spec
from gateway.resources.mount import Mount
from gateway.resources.templates import TemplateShape
from gateway.resources.templates import responder
from gateway.resources.volume_templates import VOLUME_TEMPLATES
from gateway.resources.volumes import volume_spec
from providers.base import Credentials
from providers.base import Provider
from providers.families import ServesCredentials
from providers.families import ServesMachines
from providers.families import ServesMachineVolumes
from providers.families import ServesVolumes
from providers.families import serves
from providers.keys import public_key_line

#: the most components one system is made of, nested systems' included.
MAX_COMPONENTS = 32
#: how deep systems nest in systems.
MAX_DEPTH = 3
#: a reference to another component of the same template: ``#name``.
_COMPONENT_REF = re.compile(r"#([^#\s]{1,128})")


@dataclass(frozen=True)
class ComponentKind:
    """One type of component a system is made of.

    Args:
        name: its CIMI type name (``Machine``).
        rtype: the type of the resource it is.
        attr: the descriptor's attribute holding its template.
        shape: its templates' shape; None for a system (its own shape).
        needs: the provider families it needs.
    """

    name: str
    rtype: ResourceType
    attr: str
    shape: TemplateShape | None
    needs: tuple[type, ...]

    def template_shape(self) -> TemplateShape:
        return self.shape or SYSTEM_TEMPLATES


#: in the order a system makes them: a machine may use a credential made
#: before it; deletion goes the other way.
COMPONENTS: Mapping[str, ComponentKind] = {
    kind.name: kind
    for kind in (
        ComponentKind(
            "Credential",
            CREDENTIAL,
            "credentialTemplate",
            CREDENTIAL_TEMPLATES,
            (ServesCredentials,),
        ),
        ComponentKind(
            "Volume", VOLUME, "volumeTemplate", VOLUME_TEMPLATES, (ServesVolumes,)
        ),
        ComponentKind(
            "Machine", MACHINE, "machineTemplate", MACHINE_TEMPLATES, (ServesMachines,)
        ),
        ComponentKind("System", SYSTEM, "systemTemplate", None, ()),
    )
}


def component_kind(type_given: str, provider: Provider) -> ComponentKind:
    """Return the component kind a descriptor's ``type`` URI names.

    Raises:
        BadRequest: for a type that is no component this cloud can make.
    """
    name = type_given.rstrip("/").rpartition("/")[2]
    kind = COMPONENTS.get(name)
    if kind is None or type_given not in (name, type_uri(name)):
        known = ", ".join(type_uri(k) for k in COMPONENTS)
        raise BadRequest(
            f"componentDescriptor.type: '{type_given[:120]}' is not one of {known}"
        )
    if not serves(provider, *kind.needs):
        raise BadRequest(f"componentDescriptor.type: this cloud makes no {name}")
    return kind


class SystemTemplateShape(TemplateShape):
    """A template whose component descriptors hold templates of other kinds."""

    def to_stored(self, links: Links, values: dict) -> dict:
        stored = {name: values[name] for name in self.plain if name in values}
        descriptors = values.get("componentDescriptor")
        if descriptors is not None:
            stored["componentDescriptor"] = [
                _descriptor_to_stored(links, d) for d in descriptors
            ]
        return stored

    def validate(
        self, mount: Mount, links: Links, creds: Credentials, stored: dict
    ) -> None:
        # What it makes is planned, as a system would be: every component
        # template read and checked, the nesting bounded.
        if "componentDescriptor" in stored:
            plan(mount, links, creds, stored, {})

    def wire_values(self, links: Links, stored: dict) -> dict:
        values = {name: stored[name] for name in self.plain if name in stored}
        if "componentDescriptor" in stored:
            values["componentDescriptor"] = [
                _descriptor_to_wire(links, d) for d in stored["componentDescriptor"]
            ]
        return values


def _descriptor_to_stored(links: Links, given: dict) -> dict:
    """Return a component descriptor as kept: its template as a local id or
    as that kind's stored values."""
    if "type" not in given:
        raise BadRequest("componentDescriptor.type: required")
    name = given["type"].rstrip("/").rpartition("/")[2]
    kind = COMPONENTS.get(name)
    if kind is None or given["type"] not in (name, type_uri(name)):
        known = ", ".join(type_uri(k) for k in COMPONENTS)
        raise BadRequest(
            f"componentDescriptor.type: '{given['type'][:120]}' is not one of {known}"
        )
    others = [k.attr for k in COMPONENTS.values() if k is not kind and k.attr in given]
    if others:
        raise BadRequest(
            f"componentDescriptor {given.get('name', '')}: a {name} is made from a "
            f"{kind.attr}, not a {', '.join(others)}"
        )
    if kind.attr not in given:
        raise BadRequest(
            f"componentDescriptor {given.get('name', '')}: {kind.attr}: required"
        )
    quantity = given.get("quantity", 1)
    if not 1 <= quantity <= MAX_COMPONENTS:
        raise BadRequest(
            f"componentDescriptor.quantity: {quantity}; from 1 to {MAX_COMPONENTS}"
        )
    stored = {
        key: given[key] for key in ("name", "description", "property") if key in given
    }
    stored.update(type=name, quantity=quantity)
    template = dict(given[kind.attr])
    href = template.pop("href", None)
    if href:
        if template:
            raise BadRequest(
                f"{kind.attr}: give an href or a value, not both, in a system template"
            )
        stored["template"] = links.resolve(
            kind.attr, {"href": href}, kind.template_shape().rtype
        )
        return stored
    if kind.shape is None:
        raise BadRequest("systemTemplate: give the href of a system template")
    component_refs = {
        attr: match.group(1)
        for attr, ref in template.items()
        if isinstance(ref, Mapping)
        and (match := _COMPONENT_REF.fullmatch(str(ref.get("href") or "")))
    }
    if set(component_refs) - ({"credential"} if kind.name == "Machine" else set()):
        raise BadRequest(
            f"{kind.attr}: only a machine's credential and volumes may name "
            "another component ('#name')"
        )
    given = {k: v for k, v in template.items() if k not in component_refs}
    # A machine's volumes may be components too: "#name" hrefs, kept apart.
    listed = [
        {**item, "href": {"component": match.group(1)}}
        for item in given.get("volume", ())
        if kind.name == "Machine"
        and (match := _COMPONENT_REF.fullmatch(str(item.get("href") or "")))
    ]
    if listed:
        given["volume"] = [
            item
            for item in given["volume"]
            if not _COMPONENT_REF.fullmatch(str(item.get("href") or ""))
        ]
    value = kind.shape.to_stored(links, given)
    value.update({attr: {"component": n} for attr, n in component_refs.items()})
    if listed:
        value["volume"] = value.get("volume", []) + listed
    stored["template"] = {"value": value}
    return stored


def _descriptor_to_wire(links: Links, stored: dict) -> dict:
    kind = COMPONENTS[stored["type"]]
    values = {
        key: stored[key]
        for key in ("name", "description", "property", "quantity")
        if key in stored
    }
    values["type"] = type_uri(kind.name)
    template = stored["template"]
    if "id" in template:
        values[kind.attr] = {
            "href": links.item(kind.template_shape().rtype, template["id"])
        }
        return values
    value = template["value"]
    refs = {
        a: r["component"]
        for a, r in value.items()
        if isinstance(r, Mapping) and "component" in r
    }
    shape = kind.template_shape()
    plain = {k: v for k, v in value.items() if k not in refs}
    volumes = plain.pop("volume", [])
    plain["volume"] = [item for item in volumes if "id" in item["href"]]
    wire = shape.wire_values(links, plain)
    wire.update({attr: {"href": f"#{name}"} for attr, name in refs.items()})
    wire["volume"] = wire.get("volume", []) + [
        {**item, "href": f"#{item['href']['component']}"}
        for item in volumes
        if "component" in item["href"]
    ]
    values[kind.attr] = wire
    return values


# -- what a template makes ---------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """One component a system will be made with, checked against the cloud.

    Args:
        kind: its component kind.
        descriptor: the name of the descriptor it comes from, for messages.
        name: the name it is made with.
        spec: what its create call takes: a MachineSpec, a VolumeSpec, a
            public key line (a credential), a SystemPlan (a nested system).
    """

    kind: ComponentKind
    descriptor: str
    name: str
    spec: object
    #: a machine's volumes: (the volume's id, or the place in the plan of a
    #: volume component; whether it is a component; the device).
    attach: tuple[tuple[str | int, bool, str], ...] = ()

    @property
    def label(self) -> str:
        return f"{self.kind.name} {self.name}"


@dataclass(frozen=True)
class SystemPlan:
    """A system to make: its own values and its components, in making order."""

    name: str
    description: str
    properties: Mapping[str, str]
    components: tuple[Planned, ...]


def plan(
    mount: Mount,
    links: Links,
    creds: Credentials,
    template: dict,
    values: Mapping[str, object],
    depth: int = 0,
    budget: list[int] | None = None,
) -> SystemPlan:
    """Return the system a stored template (overridden by ``values``) makes.

    Every component's template is read and checked against the cloud here,
    before anything is made.

    Raises:
        BadRequest: naming the descriptor and what it lacks.
    """
    if "componentDescriptor" not in template:
        raise BadRequest("systemTemplate.componentDescriptors: required")
    name = str(values.get("name") or template.get("name") or "system")
    descriptors = sorted(
        template["componentDescriptor"], key=lambda d: list(COMPONENTS).index(d["type"])
    )
    credentials: dict[str, list[str]] = {}
    volumes: dict[str, list[int]] = {}
    components: list[Planned] = []
    # Counted as planned, nested systems' too: a template nesting others
    # many times over is refused before it costs the cloud a lookup each.
    left = budget if budget is not None else [MAX_COMPONENTS]
    for descriptor in descriptors:
        kind = component_kind(type_uri(descriptor["type"]), mount.provider)
        made = _template_of(mount, links, creds, kind, descriptor)
        for index in range(descriptor["quantity"]):
            left[0] -= 1
            if left[0] < 0:
                raise BadRequest(
                    f"componentDescriptors: more than {MAX_COMPONENTS} components "
                    "in one system, nested systems' included"
                )
            planned = _planned(
                mount,
                links,
                creds,
                kind,
                descriptor,
                made,
                name,
                index,
                depth,
                {"Credential": credentials, "Volume": volumes},
                left,
            )
            # What '#name' stands for: a credential's name, a volume's place.
            named = descriptor.get("name", "")
            if kind.name == "Credential":
                credentials.setdefault(named, []).append(planned.name)
            elif kind.name == "Volume":
                volumes.setdefault(named, []).append(len(components))
            components.append(planned)
    _attached_once(components)
    keys = [c.name for c in components if c.kind.name == "Credential"]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise BadRequest(
            f"componentDescriptors: two credentials would be named {twice[0]}"
        )
    system = SystemPlan(
        name=name,
        description=str(values.get("description") or template.get("description") or ""),
        properties=dict(values.get("property") or template.get("property") or {}),  # type: ignore[call-overload]
        components=tuple(components),
    )
    return system


def _template_of(
    mount: Mount,
    links: Links,
    creds: Credentials,
    kind: ComponentKind,
    descriptor: dict,
) -> dict:
    """Return a descriptor's component template as stored values."""
    template = descriptor["template"]
    if "value" in template:
        return template["value"]
    shape = kind.template_shape()
    try:
        return shape.load(mount.store, mount.namespace(creds), template["id"])
    except NotFound as ex:
        raise BadRequest(f"{kind.attr}: {ex.message}") from ex


def _planned(
    mount: Mount,
    links: Links,
    creds: Credentials,
    kind: ComponentKind,
    descriptor: dict,
    template: dict,
    system_name: str,
    index: int,
    depth: int,
    made: Mapping[str, Mapping[str, list]],
    budget: list[int],
) -> Planned:
    label = (
        descriptor.get("name")
        or template.get("name")
        or f"{system_name}-{kind.name.lower()}"
    )
    name = label if descriptor["quantity"] == 1 else f"{label}-{index + 1}"
    own = {
        key: descriptor[key] for key in ("description", "property") if key in descriptor
    }
    own["name"] = name
    where = f"componentDescriptor {descriptor.get('name') or kind.name}"
    try:
        if kind.name == "Machine":
            return _machine(mount, links, creds, kind, descriptor, template, own, made)
        spec = _spec(mount, links, creds, kind, template, own, depth, budget)
    except BadRequest as ex:
        raise BadRequest(f"{where}: {ex.message}") from ex
    if kind.name == "Credential":
        try:
            check_credential_name(name)
        except BadRequest as ex:
            raise BadRequest(f"{where}: {ex.message}") from ex
    return Planned(kind, descriptor.get("name", ""), name, spec)


def _component(made: Mapping[str, list], ref: str, what: str) -> str | int:
    """Return what stands for the one component ``#ref`` names."""
    names = made.get(ref, [])
    if len(names) != 1:
        raise BadRequest(
            f"'#{ref}' names no {what} component (of quantity 1) of this system "
            "template"
        )
    return names[0]


def _machine(
    mount: Mount,
    links: Links,
    creds: Credentials,
    kind: ComponentKind,
    descriptor: dict,
    template: dict,
    own: dict,
    made: Mapping[str, Mapping[str, list]],
) -> Planned:
    """Plan a machine: its credential and volumes may be other components."""
    rest = {k: v for k, v in template.items() if k not in ("credential", "volume")}
    credential = template.get("credential") or {}
    if "component" not in credential and credential:
        rest["credential"] = credential
    volumes = template.get("volume", [])
    rest["volume"] = [item for item in volumes if "id" in item["href"]]
    spec = machine_spec(mount.provider, links, creds, rest, own)  # type: ignore[arg-type]
    if "component" in credential:
        key = _component(made["Credential"], credential["component"], "credential")
        spec = dataclasses.replace(spec, key_name=key)
    attach = []
    for item in volumes:
        device = item.get("initialLocation", "")
        if "id" in item["href"]:
            attach.append((item["href"]["id"], False, device))
            continue
        ref = item["href"]["component"]
        attach.append((_component(made["Volume"], ref, "volume"), True, device))
    if attach and not isinstance(mount.provider, ServesMachineVolumes):
        raise BadRequest("volumes: this cloud attaches no volumes to machines")
    return Planned(kind, descriptor.get("name", ""), own["name"], spec, tuple(attach))


def _attached_once(components: list[Planned]) -> None:
    """Refuse a plan attaching one volume to two machines (the second would
    fail half-way, every cloud refusing it)."""
    seen: set[tuple[str | int, bool]] = set()
    for component in components:
        for volume, is_component, _ in component.attach:
            if (volume, is_component) in seen:
                what = "a volume component" if is_component else f"volume {volume}"
                raise BadRequest(f"volumes: {what} would be attached to two machines")
            seen.add((volume, is_component))


def _spec(
    mount: Mount,
    links: Links,
    creds: Credentials,
    kind: ComponentKind,
    template: dict,
    own: dict,
    depth: int,
    budget: list[int],
) -> object:
    provider = mount.provider
    if kind.name == "Credential":
        if not template.get("key"):
            raise BadRequest(
                "credentialTemplate.key: required in a system (a private key "
                "made for it would have nowhere to go)"
            )
        return public_key_line(template["key"])
    if kind.name == "Volume":
        return volume_spec(provider, links, creds, template, own)  # type: ignore[arg-type]
    if depth + 1 > MAX_DEPTH:
        raise BadRequest(
            f"systemTemplate: systems nest at most {MAX_DEPTH} deep (does a "
            "template name itself?)"
        )
    return plan(mount, links, creds, template, own, depth + 1, budget)


SYSTEM_TEMPLATES = SystemTemplateShape(
    rtype=SYSTEM_TEMPLATE,
    kind="system_template",
    references={},
    plain=("name", "description", "property"),
    required=("componentDescriptor",),
    check=lambda provider, links, creds, stored: None,
)

SystemTemplates = responder(SYSTEM_TEMPLATES)
