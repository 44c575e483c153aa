"""The shop's business rules, as hooks that run inside each write's transaction.

Anything a hook writes through ``event.records`` commits or rolls back with
the change that triggered it; raising :class:`Rejected` answers the client
with a 422 problem document that points at the offending field.
"""

import logging
from uuid import UUID

from bastion import FieldError, HookEvent, Hooks, Rejected

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


@hooks.before_create("order_items")
@hooks.before_update("order_items")
async def price_the_item(event: HookEvent) -> None:
    """Only active products can be ordered, within stock; the price is the product's."""
    previous = event.previous or {}
    product_changed = event.record["product"] != previous.get("product")
    product = await event.records.get("products", event.record["product"])
    if product is None:
        return  # Bastion answers 422 with /product: "there is no products record ..."
    if product_changed and product["status"] != "active":
        raise Rejected(
            f"product {product['sku']} is {product['status']}; only active products can be ordered",
            errors=(FieldError("/product", f"is {product['status']}, not active"),),
        )
    # On an update the stock already holds back the quantity ordered before.
    available = product["stock"] + (0 if product_changed else previous.get("quantity", 0))
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
    product = await event.records.get("products", product_id)
    if product is not None and quantity:
        await event.records.update("products", product_id, {"stock": product["stock"] - quantity})


@hooks.after_create("order_items")
async def take_from_stock(event: HookEvent) -> None:
    """Hold back the ordered quantity, in the same transaction as the item."""
    await _take_stock(event, event.record["product"], event.record["quantity"])


@hooks.after_update("order_items")
async def adjust_stock(event: HookEvent) -> None:
    """Return the old quantity and hold back the new one."""
    assert event.previous is not None
    await _take_stock(event, event.previous["product"], -event.previous["quantity"])
    await _take_stock(event, event.record["product"], event.record["quantity"])


@hooks.after_delete("order_items")
async def return_to_stock(event: HookEvent) -> None:
    """A removed item (or a deleted order's items) goes back to stock."""
    await _take_stock(event, event.record["product"], -event.record["quantity"])
