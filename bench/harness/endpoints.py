"""The benchmark's endpoints: a probe request for each, and the wrk run that measures it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from harness.load import Measurement, run_wrk
from harness.processes import http_request
from harness.systems import Api, Prepared

__all__ = ["ENDPOINTS", "Endpoint", "measure_endpoint"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One endpoint: how the report names it, how wrk drives it."""

    key: str
    title: str
    mode: str
    query_language: bool = False
    """Needs filters/sort: a 400 from the server means "not supported yet"."""


ENDPOINTS = {
    e.key: e
    for e in (
        Endpoint("get", "GET one item by id (random ids)", "get"),
        Endpoint("list", "GET first page, limit 20 (id order)", "fixed"),
        Endpoint(
            "list_filtered",
            "GET filtered + sorted page: status=active, sort -price, limit 20",
            "fixed",
            query_language=True,
        ),
        Endpoint("update", "PATCH one field pair, If-Match: * (random ids)", "update"),
        Endpoint("create", "POST a new item", "create"),
    )
}


def _path(endpoint: Endpoint, api: Api) -> str:
    if endpoint.key == "list":
        return api.list_path
    if endpoint.key == "list_filtered":
        return api.filtered_path
    return api.item_path


def _probe(endpoint: Endpoint, api: Api, port: int, first_id: str, sku: str) -> tuple[int, bytes]:
    json = {"Content-Type": "application/json"}
    if endpoint.key == "get":
        return http_request(port, "GET", f"{api.item_path}/{first_id}")
    if endpoint.key == "update":
        body = orjson.dumps({"quantity": 1})
        return http_request(
            port,
            "PATCH",
            f"{api.item_path}/{first_id}",
            body=body,
            headers=json | {"If-Match": "*"},
        )
    if endpoint.key == "create":
        price: Any = 12.5 if api.price_style == "number" else "12.50"
        body = orjson.dumps({"sku": sku, "name": "Probe", "price": price})
        return http_request(port, "POST", api.item_path, body=body, headers=json)
    return http_request(port, "GET", _path(endpoint, api))


def measure_endpoint(
    prepared: Prepared,
    api: Api,
    endpoint: Endpoint,
    *,
    warmup: int,
    duration: int,
    connections: int,
    threads: int,
    tag: str = "m",
) -> dict[str, Any]:
    """Probe the endpoint once, then warm up and measure it with wrk.

    ``tag`` keeps the skus a create run makes apart from every other run's.
    """
    port = prepared.server.port
    first_id = prepared.ids_file.read_text().split("\n", 1)[0]
    status, body = _probe(endpoint, api, port, first_id, f"PROBE-{tag}")
    probe: dict[str, Any] = {"probe_status": status}
    if not 200 <= status < 300:
        probe["probe_body"] = body[:300].decode(errors="replace")
        if endpoint.query_language and status == 400:
            return {"status": "unsupported", **probe}

    def once(seconds: int, tag: str) -> Measurement:
        return run_wrk(
            port,
            mode=endpoint.mode,
            path=_path(endpoint, api),
            ids_file=prepared.ids_file,
            style=api.price_style,
            tag=tag,
            duration=seconds,
            connections=connections,
            threads=threads,
        )

    if warmup:
        once(warmup, f"w{tag}")
    cpu_before = prepared.server.cpu_seconds()
    result = once(duration, tag)
    cpu = prepared.server.cpu_seconds() - cpu_before
    # The server's own CPU per response (not the database's): what a request costs it,
    # whatever share of the cores other work on the machine left it.
    cpu_ms = round(1000 * cpu / result.requests, 3) if result.requests else None
    return {"status": "ok", **probe, **result.as_dict(), "server_cpu_ms_per_request": cpu_ms}
