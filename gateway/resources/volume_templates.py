"""``{mount}/volume_templates``: VolumeTemplates the gateway keeps per tenant.

A volume template names a volume configuration (by href, or by value: a
``capacity`` in KiB and maybe a ``type``) and maybe a volume image to restore
from; both are checked against the cloud when the template is written.
"""

from __future__ import annotations

from gateway.cimi.schema import VOLUME_CONFIGURATION
from gateway.cimi.schema import VOLUME_IMAGE
from gateway.cimi.schema import VOLUME_TEMPLATE
from gateway.resources.references import check_volume_template
from gateway.resources.templates import TemplateShape
from gateway.resources.templates import responder

VOLUME_TEMPLATES = TemplateShape(
    rtype=VOLUME_TEMPLATE,
    kind="volume_template",
    references={"volumeConfig": VOLUME_CONFIGURATION, "volumeImage": VOLUME_IMAGE},
    plain=("name", "description", "property"),
    required=("volumeConfig",),
    check=check_volume_template,
)

VolumeTemplates = responder(VOLUME_TEMPLATES)
