"""libcloud's EC2 driver, fixed where it disagrees with EC2-compatible APIs.

Every fix is harmless against Amazon itself:

- answers are parsed whatever EC2 XML namespace they carry (moto writes
  ``.../2016-11-15`` without libcloud's trailing slash, Eucalyptus its own);
- tag calls number their lists from 1, as the EC2 query API documents
  (libcloud's ``ResourceId.0``/``Tag.0.*`` make moto answer
  ``MissingParameter: resourceIdSet``);
- ``stop_node`` can ask for a forced stop, which libcloud's cannot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from libcloud.compute.base import Node
from libcloud.compute.drivers.ec2 import NAMESPACE
from libcloud.compute.drivers.ec2 import EC2Connection
from libcloud.compute.drivers.ec2 import EC2NodeDriver
from libcloud.compute.drivers.ec2 import EC2Response

_EC2_XMLNS = re.compile(r'xmlns="http://ec2\.amazonaws\.com/doc/[^"]*"')
_LIBCLOUD_XMLNS = f'xmlns="{NAMESPACE}"'


class AnyNamespaceEC2Response(EC2Response):
    """Parse EC2 answers whichever API version their namespace names.

    libcloud looks elements up in its own API version's namespace, so an
    answer in another one parses as empty lists, silently.
    """

    def parse_body(self) -> Any:
        if isinstance(self.body, str):
            self.body = _EC2_XMLNS.sub(_LIBCLOUD_XMLNS, self.body, count=1)
        return super().parse_body()

    def parse_error(self) -> Any:
        # libcloud reads ``Errors/Error`` without a namespace, as real AWS
        # writes it; with one, every error would lose its code and message.
        if isinstance(self.body, str):
            body = _EC2_XMLNS.sub("", self.body, count=1)
            self.body = body.replace("<Response >", "<Response>", 1)
        return super().parse_error()


class AnyNamespaceEC2Connection(EC2Connection):
    responseCls = AnyNamespaceEC2Response


class GatewayEC2NodeDriver(EC2NodeDriver):
    """libcloud's EC2 driver, reading any EC2 XML namespace.

    NOTE: EC2 answers these calls with booleans that moto leaves out; the
    callers take "no exception" for success and ignore what they return.
    """

    connectionCls = AnyNamespaceEC2Connection

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

    def stop_node(self, node: Node, ex_force: bool = False) -> bool:
        """Stop ``node``; with ``ex_force``, without waiting for its OS."""
        params = {"Action": "StopInstances", "InstanceId.1": node.id}
        if ex_force:
            params["Force"] = "true"
        answer = self.connection.request(self.path, params=params).object
        return self._get_state_boolean(answer)
