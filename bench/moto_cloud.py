"""The bench's EC2 cloud: a moto server in a child process, with machines in it.

moto runs in its own process, not in the bench's: the Python load generator
and the direct libcloud calls of ``bench/latency.py`` would otherwise share
its GIL. It starts with the test suite's fixture AMIs (``MOTO_AMIS_PATH``)
rather than moto's ~1300 bundled ones.
"""

from __future__ import annotations

import os

from bench.servers import HOST
from bench.servers import Servers
from bench.servers import StartError
from bench.servers import free_port
from bench.servers import venv_command
from tests.support.moto import FIXTURE_AMIS
from tests.support.moto import driver_for
from tests.support.moto import run_instance


def start_moto(servers: Servers, instances: int) -> tuple[str, list[str]]:
    """Start moto on a free port of 127.0.0.1 and launch ``instances`` there.

    Returns:
        moto's ``http://127.0.0.1:PORT`` and the ids of the instances.
    """
    port = free_port()
    env = os.environ | {"MOTO_AMIS_PATH": str(FIXTURE_AMIS.resolve())}
    argv = [*venv_command("moto_server", "moto.server"), "-H", HOST, "-p", str(port)]
    servers.start("moto", argv, env)
    servers.wait_listening("moto", port)
    endpoint = f"http://{HOST}:{port}"
    try:
        ids = [run_instance(endpoint, name=f"bench-{n}") for n in range(instances)]
        # moto shows an instance running from the describe after its launch:
        # from here on, every listing is the same bytes.
        driver_for(endpoint).list_nodes()
    except Exception as ex:
        raise StartError(f"moto: cannot launch instances: {ex}") from ex
    return endpoint, ids
