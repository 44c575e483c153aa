"""``/v1/admin/webhooks`` and ``/v1/admin/deliveries``: webhook subscriptions, the
delivery log and dead letters, for admins.

- ``GET /v1/admin/webhooks``: every subscription;
- ``POST /v1/admin/webhooks``: subscribe (``{url, event_types, description?,
  enabled?}``); the answer (201, ``Location`` of the subscription) carries the
  ``secret``, shown only there;
- ``GET``, ``PATCH``, ``DELETE /v1/admin/webhooks/{id}``: one subscription;
- ``POST /v1/admin/webhooks/{id}:rotate-secret`` (optional body
  ``{overlap_seconds}``): a new secret, shown once, and until when the previous
  one signs too (``previous_secret_expires_at``);
- ``GET /v1/admin/webhooks/{id}/deliveries?status=&limit=&before=``: its delivery
  log, newest first, each delivery with its attempts;
- ``GET /v1/admin/deliveries?status=&target_kind=&target=&limit=&before=``: every
  delivery (webhooks' and in-app consumers'), e.g. the dead letters;
- ``GET /v1/admin/deliveries/{id}``: one delivery;
- ``POST /v1/admin/deliveries/{id}:replay``: send it again (202).

Every route needs the ``admin`` role: anonymous callers get 401, others 403,
before the body is read. See :mod:`bastion.core.webhooks.admin`.
"""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastion.api.rest.auth.api_key_routes import NO_STORE
from bastion.api.rest.auth.bodies import MAX_AUTH_BODY_BYTES, path_id, query_id
from bastion.api.rest.encoding import read_json_body
from bastion.api.rest.http import json_response, request_context
from bastion.core.errors import FieldError, InvalidQuery
from bastion.core.identity.admin_parts import require_admin
from bastion.core.ports import SecretBox
from bastion.core.records import RecordService
from bastion.core.webhooks.admin import DEFAULT_SECRET_OVERLAP, Replay, WebhookAdmin
from bastion.core.webhooks.delivery_log import DeliveryQuery
from bastion.core.webhooks.subscriptions import UrlCheck

__all__ = ["webhook_routes"]


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", "50")
    if not (raw.isascii() and raw.isdigit()):  # "²".isdigit(), but int("²") fails
        raise InvalidQuery(
            "limit must be a whole number", errors=(FieldError("limit", f"{raw!r} is no number"),)
        )
    return int(raw)


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() != "0"
    return "transfer-encoding" in request.headers


def _query(request: Request) -> DeliveryQuery:
    params = request.query_params
    return DeliveryQuery(
        status=params.get("status") or None,
        target_kind=params.get("target_kind") or None,
        target=params.get("target") or None,
        limit=_limit(request),
        before=query_id(request, "before"),
    )


def webhook_routes(
    service: RecordService,
    *,
    secret_box: SecretBox | None,
    check_url: UrlCheck,
    replay: Replay,
    secret_overlap: timedelta = DEFAULT_SECRET_OVERLAP,
    prefix: str = "/v1",
) -> list[BaseRoute]:
    """The routes under ``{prefix}/admin/webhooks`` and ``{prefix}/admin/deliveries``.

    Args:
        service: the record service (identity and event resources included).
        secret_box: seals subscription secrets at rest (the server's secret box).
        check_url: the SSRF guard for subscription URLs (``ValueError`` when refused).
        replay: sends a delivery again (``DeliveryRunner.replay``).
        secret_overlap: how long a rotated-out secret keeps signing by default
            (``BASTION_WEBHOOK_SECRET_OVERLAP_SECONDS``).
        prefix: where the API is served.
    """
    admin = WebhookAdmin(
        service,
        secret_box=secret_box,
        check_url=check_url,
        replay=replay,
        secret_overlap=secret_overlap,
    )

    async def subscriptions(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)  # before reading the body: a stranger learns nothing from errors
        if request.method == "POST":
            body = await read_json_body(request, max_bytes=MAX_AUTH_BODY_BYTES)
            created = await admin.create(ctx, body)
            # Under the path a host application mounted Bastion at, like records' Location.
            where = f"{request.scope.get('root_path', '')}{webhooks}/{created['id']}"
            return json_response(created, 201, {**NO_STORE, "Location": where})
        return json_response({"data": await admin.subscriptions(ctx)})

    async def subscription(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)
        subscription_id = path_id(request, "webhook subscription")
        if request.method == "PATCH":
            await admin.subscription(ctx, subscription_id)  # 404 before the body
            body = await read_json_body(request, max_bytes=MAX_AUTH_BODY_BYTES, merge_patch=True)
            return json_response(await admin.update(ctx, subscription_id, body))
        if request.method == "DELETE":
            await admin.delete(ctx, subscription_id)
            return Response(status_code=204)
        return json_response(await admin.subscription(ctx, subscription_id))

    async def rotate_secret(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)
        subscription_id = path_id(request, "webhook subscription")
        body = None
        if _has_body(request):
            await admin.subscription(ctx, subscription_id)  # 404 before the body
            body = await read_json_body(request, max_bytes=MAX_AUTH_BODY_BYTES)
        rotated = await admin.rotate_secret(ctx, subscription_id, body)
        return json_response(rotated, headers=NO_STORE)

    async def subscription_deliveries(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)
        subscription_id = path_id(request, "webhook subscription")
        page = await admin.subscription_deliveries(ctx, subscription_id, _query(request))
        return json_response(page.as_json())

    async def deliveries(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)
        return json_response((await admin.deliveries(ctx, _query(request))).as_json())

    async def delivery(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)
        return json_response(await admin.delivery(ctx, path_id(request, "delivery")))

    async def replay_delivery(request: Request) -> Response:
        ctx = request_context(request)
        require_admin(ctx)
        return json_response(await admin.replay(ctx, path_id(request, "delivery")), 202)

    webhooks = f"{prefix}/admin/webhooks"
    log = f"{prefix}/admin/deliveries"
    # The ``:action`` routes first: ``{id}`` would match ``<id>:rotate-secret`` too.
    return [
        Route(webhooks, subscriptions, methods=["GET", "POST"]),
        Route(f"{webhooks}/{{id}}:rotate-secret", rotate_secret, methods=["POST"]),
        Route(f"{webhooks}/{{id}}/deliveries", subscription_deliveries, methods=["GET"]),
        Route(f"{webhooks}/{{id}}", subscription, methods=["GET", "PATCH", "DELETE"]),
        Route(log, deliveries, methods=["GET"]),
        Route(f"{log}/{{id}}:replay", replay_delivery, methods=["POST"]),
        Route(f"{log}/{{id}}", delivery, methods=["GET"]),
    ]
