"""libcloud's EC2 driver, fixed where it disagrees with EC2-compatible APIs.

Every fix is harmless against Amazon itself:

- answers are parsed whatever EC2 XML namespace they carry (moto writes
  ``.../2016-11-15`` without libcloud's trailing slash, Eucalyptus its own);
- tag calls number their lists from 1, as the EC2 query API documents
  (libcloud's ``ResourceId.0``/``Tag.0.*`` make moto answer
  ``MissingParameter: resourceIdSet``);
- ``stop_node`` can ask for a forced stop, which libcloud's cannot;
- lists follow ``nextToken`` to the last page (libcloud reads the first);
- an answer that is not EC2's XML (an HTML page from a proxy, a body cut
  short, text a tag made unparsable) is an error, never an empty list;
- every request is bounded by the call's deadline (``providers/deadline.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

from libcloud.common.types import InvalidCredsError
from libcloud.common.types import LibcloudError
from libcloud.common.types import MalformedResponseError
from libcloud.compute.base import KeyPair
from libcloud.compute.base import Node
from libcloud.compute.base import NodeImage
from libcloud.compute.base import StorageVolume
from libcloud.compute.base import VolumeSnapshot
from libcloud.compute.drivers.ec2 import NAMESPACE
from libcloud.compute.drivers.ec2 import EC2Connection
from libcloud.compute.drivers.ec2 import EC2NodeDriver
from libcloud.compute.drivers.ec2 import EC2Response
from libcloud.utils.py3 import ET
from libcloud.utils.xml import findall
from libcloud.utils.xml import findtext

from providers.deadline import DeadlineConnection

# The codes by which EC2 refuses who is calling (not what is asked).
_REFUSED_CREDENTIALS = frozenset(
    {"AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch", "OptInRequired"}
)
_EC2_XMLNS = re.compile(r'xmlns="http://ec2\.amazonaws\.com/doc/[^"]*"')
_LIBCLOUD_XMLNS = f'xmlns="{NAMESPACE}"'


class AnyNamespaceEC2Response(EC2Response):
    """Parse EC2 answers whichever API version their namespace names.

    libcloud looks elements up in its own API version's namespace, so an
    answer in another one parses as empty lists, silently. So would an
    answer that is not EC2's at all: that is refused.
    """

    def parse_body(self) -> Any:
        body = self.body if isinstance(self.body, str) else ""
        self.body = _EC2_XMLNS.sub(_LIBCLOUD_XMLNS, body, count=1)
        try:
            root = ET.fromstring(self.body)
        except ET.ParseError as ex:
            raise self._unreadable(f"not well-formed XML ({ex})") from None
        if not root.tag.startswith(f"{{{NAMESPACE}}}"):
            kind = self.headers.get("content-type", "no content type")
            raise self._unreadable(f"not an EC2 answer: <{root.tag[:60]}>, {kind}")
        return root

    def _unreadable(self, why: str) -> MalformedResponseError:
        # NOTE: only the start of the body: this text reaches the client.
        return MalformedResponseError(why, body=self.body[:200], driver=None)

    def parse_error(self) -> Any:
        """Return "Code: Message" of each error; raise for refused credentials.

        libcloud's own reads ``Errors/Error`` without a namespace and expects
        exactly two children, Code then Message: moto's errors carry a
        namespace or a third child (``Type``), which made every refusal,
        bad credentials included, a ValueError. Here each is read by name,
        and a body that is not an EC2 error at all is said so, briefly.
        """
        body = self.body if isinstance(self.body, str) else ""
        try:
            root = ET.fromstring(_EC2_XMLNS.sub("", body, count=1))
        except ET.ParseError:
            kind = self.headers.get("content-type", "no content type")
            raise self._unreadable(
                f"HTTP {self.status} with no EC2 error ({kind}): {body[:80]!r}"
            ) from None
        errors = []
        for error in root.iter("Error"):
            code = (error.findtext("Code") or "").strip()
            message = (error.findtext("Message") or "").strip()
            errors.append(f"{code}: {message}")
            if code in _REFUSED_CREDENTIALS:
                raise InvalidCredsError(errors[-1])
        if not errors:
            raise self._unreadable(f"HTTP {self.status} with no EC2 error")
        return "\n".join(errors)


class AnyNamespaceEC2Connection(EC2Connection):
    responseCls = AnyNamespaceEC2Response
    conn_class = DeadlineConnection


class GatewayEC2NodeDriver(EC2NodeDriver):
    """libcloud's EC2 driver, reading any EC2 XML namespace.

    NOTE: EC2 answers these calls with booleans that moto leaves out; the
    callers take "no exception" for success and ignore what they return.
    """

    connectionCls = AnyNamespaceEC2Connection
    #: DescribeInstances' MaxResults (EC2 takes 5 to 1000).
    page_size: int = 1000
    #: the most pages one list follows before it gives up.
    max_pages: int = 1000
    #: the account these credentials act for, once asked (``ex_account_id``).
    _account_id: str | None = None

    def pages(self, params: Mapping[str, str]) -> Iterator[Any]:
        """Yield each page of a Describe call's answer, following nextToken."""
        token, seen = None, set()
        for _ in range(self.max_pages):
            page = dict(params, NextToken=token) if token else dict(params)
            answer = self.connection.request(self.path, params=page).object
            yield answer
            token = findtext(element=answer, xpath="nextToken", namespace=NAMESPACE)
            if not token:
                return
            if token in seen:
                raise LibcloudError(f"EC2 repeats the page token {token[:40]}")
            seen.add(token)
        raise LibcloudError(f"EC2 answered more than {self.max_pages} pages")

    def list_nodes(
        self,
        ex_node_ids: list[str] | None = None,
        ex_filters: Mapping[str, Any] | None = None,
    ) -> list[Node]:
        """Return every instance, over as many pages as EC2 answers in.

        NOTE: unlike libcloud's, no DescribeAddresses follows: the gateway
        does not map public IPs yet, and it would cost a round trip.
        """
        params = {"Action": "DescribeInstances"}
        if ex_node_ids:
            # EC2 refuses MaxResults beside InstanceId; it still pages.
            params.update(self._pathlist("InstanceId", ex_node_ids))
        else:
            params["MaxResults"] = str(self.page_size)
        if ex_filters:
            params.update(self._build_filters(ex_filters))
        nodes: list[Node] = []
        for answer in self.pages(params):
            for reservation in findall(
                element=answer, xpath="reservationSet/item", namespace=NAMESPACE
            ):
                nodes += self._to_nodes(reservation, "instancesSet/item")
        return nodes

    def list_images(
        self,
        location: Any = None,
        ex_image_ids: list[str] | None = None,
        ex_owner: str | None = None,
        ex_executableby: str | None = None,
        ex_filters: Mapping[str, Any] | None = None,
    ) -> list[NodeImage]:
        """Return the images asked for, over as many pages as EC2 answers in."""
        params = {"Action": "DescribeImages"}
        if ex_owner:
            params["Owner.1"] = ex_owner
        if ex_executableby:
            params["ExecutableBy.1"] = ex_executableby
        if ex_image_ids:
            params.update(self._pathlist("ImageId", ex_image_ids))
        if ex_filters:
            params.update(self._build_filters(ex_filters))
        images: list[NodeImage] = []
        for answer in self.pages(params):
            images += self._to_images(answer)
        return images

    def ex_describe_region(self, region: str) -> None:
        """Ask EC2 about one region: the cheapest signed call there is."""
        params = {"Action": "DescribeRegions", "RegionName.1": region}
        self.connection.request(self.path, params=params)

    def ex_create_tags(self, resource: Any, tags: Mapping[str, str]) -> bool:
        """Create or overwrite ``tags`` on ``resource``."""
        if not tags:
            return True
        params = {"Action": "CreateTags", "ResourceId.1": resource.id}
        for index, key in enumerate(tags, 1):
            params[f"Tag.{index}.Key"] = key
            params[f"Tag.{index}.Value"] = tags[key]
        return self._get_boolean(self.connection.request(self.path, params).object)

    def ex_delete_tags(self, resource: Any, tags: Mapping[str, str | None]) -> bool:
        """Delete ``tags`` from ``resource``; a None value matches any value."""
        if not tags:
            return True
        params = {"Action": "DeleteTags", "ResourceId.1": resource.id}
        for index, key in enumerate(tags, 1):
            params[f"Tag.{index}.Key"] = key
            if tags[key] is not None:
                params[f"Tag.{index}.Value"] = tags[key]
        return self._get_boolean(self.connection.request(self.path, params).object)

    # -- block storage: tagged at birth, the account's own, paged ---------------

    def ex_create_tagged_volume(
        self,
        size: int,
        zone: str,
        *,
        volume_type: str,
        snapshot_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> StorageVolume:
        """Create a volume carrying its tags from the start (libcloud tags it
        after, so a failure there left an untagged volume)."""
        params = {
            "Action": "CreateVolume",
            "Size": str(size),
            "AvailabilityZone": zone,
            "VolumeType": volume_type,
            **_tag_specification("volume", tags or {}),
        }
        if snapshot_id:
            params["SnapshotId"] = snapshot_id
        answer = self.connection.request(self.path, params=params).object
        # The answer has the volume's fields at its top, as a describe's item.
        return self._to_volume(answer)

    def ex_create_tagged_snapshot(
        self,
        volume: StorageVolume,
        *,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> VolumeSnapshot:
        """Snapshot ``volume``, tagged from the start."""
        params = {
            "Action": "CreateSnapshot",
            "VolumeId": volume.id,
            **_tag_specification("snapshot", tags or {}),
        }
        if description:
            params["Description"] = description
        answer = self.connection.request(self.path, params=params).object
        return self._to_snapshot(answer)

    def list_volumes(
        self, node: Node | None = None, ex_filters: Mapping[str, Any] | None = None
    ) -> list[StorageVolume]:
        """Return the volumes asked for, over as many pages as EC2 answers in."""
        params: dict[str, str] = {"Action": "DescribeVolumes"}
        filters = dict(ex_filters or {})
        if node is not None:
            filters["attachment.instance-id"] = node.id
        if filters:
            params.update(self._build_filters(filters))
        else:
            params["MaxResults"] = str(self.page_size)
        volumes: list[StorageVolume] = []
        for answer in self.pages(params):
            volumes += [
                self._to_volume(item)
                for item in findall(
                    element=answer, xpath="volumeSet/item", namespace=NAMESPACE
                )
            ]
        return volumes

    def ex_list_own_snapshots(
        self, snapshot_ids: list[str] | None = None
    ) -> list[VolumeSnapshot]:
        """Return this account's snapshots only, over every page.

        AWS lists every public snapshot to anyone (thousands): ``Owner=self``
        narrows it there; moto ignores ``Owner``, so the account's id is
        asked too, as an ``owner-id`` filter both honour.
        """
        params: dict[str, str] = {"Action": "DescribeSnapshots", "Owner.1": "self"}
        params.update(self._build_filters({"owner-id": self.ex_account_id()}))
        if snapshot_ids:
            params.update(self._pathlist("SnapshotId", snapshot_ids))
        else:
            params["MaxResults"] = str(self.page_size)
        snapshots: list[VolumeSnapshot] = []
        for answer in self.pages(params):
            snapshots += self._to_snapshots(answer)
        return snapshots

    def ex_account_id(self) -> str:
        """Return the id of the account these credentials act for, asked once.

        EC2 has no "who am I" (STS has, at another endpoint); every account
        owns a ``default`` security group, whose answer names its owner.
        """
        if self._account_id is None:
            params = {"Action": "DescribeSecurityGroups", "GroupName.1": "default"}
            answer = self.connection.request(self.path, params=params).object
            owner = findtext(
                element=answer,
                xpath="securityGroupInfo/item/ownerId",
                namespace=NAMESPACE,
            )
            if not owner:
                raise LibcloudError("EC2 named no owner of the default security group")
            self._account_id = owner
        return self._account_id

    def list_key_pairs(self) -> list[KeyPair]:
        """Return the key pairs, with their public keys (libcloud asks none)."""
        params = {"Action": "DescribeKeyPairs", "IncludePublicKey": "true"}
        answer = self.connection.request(self.path, params=params).object
        pairs = []
        for item in findall(element=answer, xpath="keySet/item", namespace=NAMESPACE):
            pair = self._to_key_pair(item)
            pair.public_key = (
                findtext(element=item, xpath="publicKey", namespace=NAMESPACE) or None
            )
            pairs.append(pair)
        return pairs

    def detach_volume(self, volume: StorageVolume, ex_force: bool = False) -> bool:
        """Detach ``volume`` from its instance, naming the instance (moto
        answers 500 without it)."""
        params = {"Action": "DetachVolume", "VolumeId": volume.id}
        instance = (volume.extra or {}).get("instance_id")
        if instance:
            params["InstanceId"] = instance
        if ex_force:
            params["Force"] = "true"
        self.connection.request(self.path, params=params)
        return True

    def stop_node(self, node: Node, ex_force: bool = False) -> bool:
        """Stop ``node``; with ``ex_force``, without waiting for its OS."""
        params = {"Action": "StopInstances", "InstanceId.1": node.id}
        if ex_force:
            params["Force"] = "true"
        answer = self.connection.request(self.path, params=params).object
        return self._get_state_boolean(answer)


def _tag_specification(resource_type: str, tags: Mapping[str, str]) -> dict[str, str]:
    """Return the ``TagSpecification.1`` parameters that tag a new resource."""
    if not tags:
        return {}
    params = {"TagSpecification.1.ResourceType": resource_type}
    for index, key in enumerate(tags, 1):
        params[f"TagSpecification.1.Tag.{index}.Key"] = key
        params[f"TagSpecification.1.Tag.{index}.Value"] = tags[key]
    return params
