"""The shop's business rules, as hooks that run inside each write's transaction.

Anything a hook writes through ``event.records`` commits or rolls back with
the change that triggered it; raising :class:`Rejected` answers the client
with a 422 problem document that points at the offending field.
"""

import logging
from decimal import Decimal
from typing import Any
from uuid import UUID

from bastion import ConsumedEvent, FieldError, HookEvent, Hooks, Rejected

log = logging.getLogger("shop")

hooks = Hooks()


@hooks.before_create("orders")
async def number_the_order(event: HookEvent) -> None:
    """Give every order a number customers can quote, e.g. ``ORD-3F9A61C2``.

    The last hex digits of the id are random (the first ones of a UUIDv7 are a
    timestamp, shared by orders placed in the same minute).
    """
    event.record["number"] = f"ORD-{event.record['id'].hex[-8:].upper()}"


@hooks.after_create("orders")
async def announce_the_order(event: HookEvent) -> None:
    """Log the new order once it is committed (never for a rolled-back one)."""
    number = event.record["number"]

    async def announce() -> None:
        log.info("order %s placed", number)

    event.records.after_commit(announce)


@hooks.consumer("orders.created", name="shop.order-confirmation")
async def confirm_the_order(event: ConsumedEvent) -> None:
    """Once an order is committed and published, outside the request (at least once,
    skipped if already processed, retried with backoff if it raises, then dead-lettered):
    the place to call a mail service or update a read model."""
    number = event.data["changes"]["number"]["after"]
    log.info("order %s: confirmation sent (event %s)", number, event.id)


@hooks.before_create("order_items")
@hooks.before_update("order_items")
async def price_the_item(event: HookEvent) -> None:
    """Only active products can be ordered, within stock; the price is the product's."""
    previous = event.previous or {}
    product_changed = event.record["product"] != previous.get("product")
    # Locked until the transaction ends: two orders cannot both take the last item.
    product = await event.records.get("products", event.record["product"], for_update=True)
    if product is None:
        return  # Bastion answers 422 with /product: "there is no products record ..."
    if product_changed and product["status"] != "active":
        raise Rejected(
            f"product {product['sku']} is {product['status']}; only active products can be ordered",
            errors=(FieldError("/product", f"is {product['status']}, not active"),),
        )
    # On an update the stock already holds back the quantity ordered before.
    stock = product["stock"] or 0  # a product whose stock was cleared has none
    available = stock + (0 if product_changed else previous.get("quantity", 0))
    if event.record["quantity"] > available:
        raise Rejected(
            f"only {available} of product {product['sku']} can be ordered: that is the stock",
            errors=(FieldError("/quantity", f"must be at most {available}"),),
        )
    if event.record["unit_price"] is None or (
        product_changed and event.record["unit_price"] == previous.get("unit_price")
    ):
        event.record["unit_price"] = product["price"]


async def _take_stock(event: HookEvent, product_id: UUID, quantity: int) -> None:
    product = await event.records.get("products", product_id, for_update=True)
    if product is not None and quantity:
        stock = product["stock"] or 0
        await event.records.update("products", product_id, {"stock": stock - quantity})


async def _add_to_total(event: HookEvent, item: dict[str, Any], sign: int) -> None:
    """Add (or with ``sign=-1`` remove) an item's amount to its order's total.

    ``total`` is read-only for clients; hooks are trusted and may write it.
    """
    order = await event.records.get("orders", item["order"], for_update=True)
    if order is None:  # the order itself is being deleted
        return
    amount = (item["unit_price"] or Decimal(0)) * item["quantity"] * sign
    await event.records.update("orders", order["id"], {"total": str(order["total"] + amount)})


@hooks.after_create("order_items")
async def take_from_stock(event: HookEvent) -> None:
    """Hold back the ordered quantity and add the item to the order's total."""
    await _take_stock(event, event.record["product"], event.record["quantity"])
    await _add_to_total(event, event.record, +1)


@hooks.after_update("order_items")
async def adjust_stock(event: HookEvent) -> None:
    """Return the old quantity and hold back the new one; the total follows."""
    assert event.previous is not None
    await _take_stock(event, event.previous["product"], -event.previous["quantity"])
    await _take_stock(event, event.record["product"], event.record["quantity"])
    await _add_to_total(event, event.previous, -1)
    await _add_to_total(event, event.record, +1)


@hooks.after_delete("order_items")
async def return_to_stock(event: HookEvent) -> None:
    """A removed item (or a deleted order's items) goes back to stock and off the total."""
    await _take_stock(event, event.record["product"], -event.record["quantity"])
    await _add_to_total(event, event.record, -1)
