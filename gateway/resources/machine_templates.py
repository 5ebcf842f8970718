"""``{mount}/machine_templates``: MachineTemplates the gateway keeps per tenant.

The responder is the one every template kind shares (``templates.py``); a
machine template's shape says it names a configuration, an image and a
credential, and keeps its initial state and user data as they are.
"""

from __future__ import annotations

from gateway.cimi.schema import CREDENTIAL
from gateway.cimi.schema import MACHINE_CONFIGURATION
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import MACHINE_TEMPLATE
from gateway.cimi.schema import VOLUME
from gateway.resources.references import check_template
from gateway.resources.templates import TemplateShape
from gateway.resources.templates import responder
from providers.base import decode_user_data


def _check_user_data(values: dict) -> None:
    # CIMI carries userData in Base64: refused when written, not when used.
    if "userData" in values:
        decode_user_data(values["userData"])


#: NOTE: the store kind stays "template", as databases made before hold it.
MACHINE_TEMPLATES = TemplateShape(
    rtype=MACHINE_TEMPLATE,
    kind="template",
    references={
        "machineConfig": MACHINE_CONFIGURATION,
        "machineImage": MACHINE_IMAGE,
        "credential": CREDENTIAL,
    },
    plain=("name", "description", "property", "initialState", "userData"),
    reference_lists={"volume": VOLUME},
    required=("machineConfig", "machineImage"),
    check=check_template,
    checked_values=_check_user_data,
)

MachineTemplates = responder(MACHINE_TEMPLATES)
