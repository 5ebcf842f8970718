"""A stand-in EC2 endpoint that answers every call after a fixed latency.

A ``ThreadingHTTPServer`` (a thread per connection, HTTP/1.1 keep-alive) on
127.0.0.1 that sleeps ``--latency`` seconds, then answers EC2 Query API calls,
``Action=...`` in a POST's form body or a GET's query string (libcloud sends
GETs), with canned XML in EC2's 2016-11-15 namespace:

- ``DescribeInstances``: ``fixtures/describe_instances.xml``, moto's answer
  listing 3 running EBS-backed t3.micro instances;
- ``DescribeRegions``: one region, ``--region``;
- anything else: ``<{Action}Response>`` with a requestId and ``true``.

Signatures are not checked: any key and secret work. ``GET /_calls`` answers
at once with the calls so far by Action (JSON): how many cloud calls a gateway
request makes (libcloud's ``list_nodes`` makes two: DescribeInstances, then
DescribeAddresses). ``bench/slow_cloud.py`` runs it in a child process, so
that its GIL is not the bench's.

    python bench/standin_ec2.py --port PORT [--latency 0.02] [--region us-east-1]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"
DESCRIBE_INSTANCES = HERE / "fixtures" / "describe_instances.xml"
#: how many instances DESCRIBE_INSTANCES lists, and their ids.
INSTANCES = 3
INSTANCE_IDS = tuple(
    re.findall(
        r"<instanceId>(i-[0-9a-f]+)</instanceId>", DESCRIBE_INSTANCES.read_text()
    )
)
CALLS_PATH = "/_calls"
CALLS: Counter[str] = Counter()  # by Action, under LOCK
LOCK = threading.Lock()


def regions_xml(region: str, request_id: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<DescribeRegionsResponse xmlns="{NAMESPACE}">'
        f"<requestId>{request_id}</requestId><regionInfo><item>"
        f"<regionName>{region}</regionName>"
        f"<regionEndpoint>ec2.{region}.amazonaws.com</regionEndpoint>"
        "<optInStatus>opt-in-not-required</optInStatus>"
        "</item></regionInfo></DescribeRegionsResponse>"
    )


def generic_xml(action: str, request_id: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<{action}Response xmlns="{NAMESPACE}">'
        f"<requestId>{request_id}</requestId><return>true</return>"
        f"</{action}Response>"
    )


def error_xml(code: str, message: str, request_id: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>"
        f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
    )


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer has a length
    # Else Nagle holds the body back until the head's ACK, which the client
    # delays by 40 ms.
    disable_nagle_algorithm = True
    server_version = "standin-ec2"
    latency = 0.02
    region = "us-east-1"
    instances = DESCRIBE_INSTANCES.read_text()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == CALLS_PATH:
            with LOCK:
                self.send(200, "application/json", json.dumps(CALLS).encode())
        else:
            self.answer(url.query)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.answer(self.rfile.read(length).decode("utf-8", "replace"))

    def answer(self, query: str) -> None:
        time.sleep(self.latency)
        action = (parse_qs(query).get("Action") or [""])[0]
        with LOCK:
            CALLS[action] += 1
        request_id = str(uuid.uuid4())
        status = 200
        if action == "DescribeInstances":
            body = self.instances
        elif action == "DescribeRegions":
            body = regions_xml(self.region, request_id)
        elif action.isalnum():
            body = generic_xml(action, request_id)
        else:
            status = 400
            body = error_xml("MissingAction", "no valid Action", request_id)
        self.send(status, "text/xml;charset=UTF-8", body.encode(), request_id)

    def send(self, status: int, kind: str, data: bytes, request_id: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        if request_id:
            self.send_header("x-amzn-requestid", request_id)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per call would cost more than the answer


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the gateway's threads connect all at once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--latency", type=float, default=0.02, help="s per call")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()
    Handler.latency = args.latency
    Handler.region = args.region
    with Server((args.host, args.port), Handler) as server:
        print(f"standin-ec2 on {args.host}:{args.port}", file=sys.stderr, flush=True)
        with contextlib.suppress(KeyboardInterrupt):  # when run by hand
            server.serve_forever()


if __name__ == "__main__":
    main()
