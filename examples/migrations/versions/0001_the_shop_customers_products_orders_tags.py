"""the shop: customers, products, orders, tags

Revision ID: 0001_1656c83248ff
Revises: None

Planned by Bastion from the blueprint; read it before `bastion migrate apply`.
BLUEPRINT_SNAPSHOT is the schema this revision leaves behind: later plans
compare the live database with it to report changes made by hand (drift).
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_1656c83248ff"
down_revision = None
branch_labels = None
depends_on = None

BLUEPRINT_SNAPSHOT = {
    "resources": {
        "customers": {
            "description": "People who buy.",
            "fields": {
                "name": {
                    "type": "string",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "max_length": 200,
                },
                "email": {
                    "type": "email",
                    "required": True,
                    "unique": True,
                    "description": None,
                    "default": None,
                    "max_length": 320,
                },
                "phone": {
                    "type": "string",
                    "required": False,
                    "unique": False,
                    "description": "International format, e.g. +44 20 7946 0958.",
                    "default": None,
                    "max_length": 32,
                },
                "vip": {
                    "type": "boolean",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": False,
                },
                "api_secret": {
                    "type": "string",
                    "required": False,
                    "unique": False,
                    "description": "Sent by the customer's integration; never served back.",
                    "default": None,
                    "max_length": 128,
                },
            },
            "indexes": [],
        },
        "products": {
            "description": "What the shop sells. Only active products can be ordered.",
            "fields": {
                "sku": {
                    "type": "string",
                    "required": True,
                    "unique": True,
                    "description": None,
                    "default": None,
                    "max_length": 32,
                },
                "name": {
                    "type": "string",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "max_length": 200,
                },
                "description": {
                    "type": "text",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "max_length": 10000,
                },
                "price": {
                    "type": "decimal",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "precision": 10,
                    "scale": 2,
                },
                "stock": {
                    "type": "integer",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": 0,
                },
                "attributes": {
                    "type": "json",
                    "required": False,
                    "unique": False,
                    "description": "Free-form details: size, colour, material.",
                    "default": None,
                },
                "status": {
                    "type": "enum",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": "draft",
                    "values": ["draft", "active", "archived"],
                },
            },
            "indexes": [{"fields": ["status", "name"], "unique": False, "name": None}],
        },
        "orders": {
            "description": "A customer's order; its number is given by a hook.",
            "fields": {
                "customer": {
                    "type": "belongs_to",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "resource": "customers",
                    "on_delete": "restrict",
                },
                "number": {
                    "type": "string",
                    "required": False,
                    "unique": True,
                    "description": None,
                    "default": None,
                    "max_length": 20,
                },
                "status": {
                    "type": "enum",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": "pending",
                    "values": ["pending", "paid", "shipped", "cancelled"],
                },
                "placed_at": {
                    "type": "datetime",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                },
                "total": {
                    "type": "decimal",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": "0.00",
                    "precision": 12,
                    "scale": 2,
                },
            },
            "indexes": [
                {"fields": ["customer", "status"], "unique": False, "name": None},
                {
                    "fields": ["customer", "placed_at"],
                    "unique": False,
                    "name": "orders_by_customer_recent",
                },
            ],
        },
        "order_items": {
            "description": "One line of an order; the unit price is copied from the product.",
            "fields": {
                "order": {
                    "type": "belongs_to",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "resource": "orders",
                    "on_delete": "cascade",
                },
                "product": {
                    "type": "belongs_to",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "resource": "products",
                    "on_delete": "restrict",
                },
                "quantity": {
                    "type": "integer",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                },
                "unit_price": {
                    "type": "decimal",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "precision": 10,
                    "scale": 2,
                },
            },
            "indexes": [{"fields": ["order", "product"], "unique": True, "name": None}],
        },
        "tags": {
            "description": None,
            "fields": {
                "name": {
                    "type": "string",
                    "required": True,
                    "unique": True,
                    "description": None,
                    "default": None,
                    "max_length": 50,
                },
            },
            "indexes": [],
        },
        "product_tags": {
            "description": "Joins products and tags (many-to-many).",
            "fields": {
                "product": {
                    "type": "belongs_to",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "resource": "products",
                    "on_delete": "cascade",
                },
                "tag": {
                    "type": "belongs_to",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "resource": "tags",
                    "on_delete": "cascade",
                },
            },
            "indexes": [{"fields": ["product", "tag"], "unique": True, "name": None}],
        },
    },
}


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column(
            "phone",
            sa.String(length=32),
            nullable=True,
            comment="International format, e.g. +44 20 7946 0958.",
        ),
        sa.Column("vip", sa.Boolean(), server_default="0", nullable=True),
        sa.Column(
            "api_secret",
            sa.String(length=128),
            nullable=True,
            comment="Sent by the customer's integration; never served back.",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        comment="People who buy.",
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index("uq_customers_email", ["email"], unique=True)

    op.create_table(
        "products",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("sku", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("stock", sa.BigInteger(), server_default="0", nullable=True),
        sa.Column(
            "attributes",
            sa.Text(),
            nullable=True,
            comment="Free-form details: size, colour, material.",
        ),
        sa.Column("status", sa.String(length=64), server_default="draft", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        comment="What the shop sells. Only active products can be ordered.",
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index("ix_products_status_name", ["status", "name"], unique=False)
        batch_op.create_index("uq_products_sku", ["sku"], unique=True)

    op.create_table(
        "tags",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
    )
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.create_index("uq_tags_name", ["name"], unique=True)

    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("customer", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=64), server_default="pending", nullable=True),
        sa.Column("placed_at", sa.String(length=27), nullable=True),
        sa.Column("total", sa.BigInteger(), server_default="0", nullable=True),
        sa.ForeignKeyConstraint(
            ["customer"], ["customers.id"], name=op.f("fk_orders_customer"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        comment="A customer's order; its number is given by a hook.",
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_customer", ["customer"], unique=False)
        batch_op.create_index("ix_orders_customer_status", ["customer", "status"], unique=False)
        batch_op.create_index("orders_by_customer_recent", ["customer", "placed_at"], unique=False)
        batch_op.create_index("uq_orders_number", ["number"], unique=True)

    op.create_table(
        "product_tags",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("product", sa.String(length=36), nullable=False),
        sa.Column("tag", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["product"], ["products.id"], name=op.f("fk_product_tags_product"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tag"], ["tags.id"], name=op.f("fk_product_tags_tag"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_tags")),
        comment="Joins products and tags (many-to-many).",
    )
    with op.batch_alter_table("product_tags", schema=None) as batch_op:
        batch_op.create_index("ix_product_tags_product", ["product"], unique=False)
        batch_op.create_index("ix_product_tags_tag", ["tag"], unique=False)
        batch_op.create_index("uq_product_tags_product_tag", ["product", "tag"], unique=True)

    op.create_table(
        "order_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("order", sa.String(length=36), nullable=False),
        sa.Column("product", sa.String(length=36), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order"], ["orders.id"], name=op.f("fk_order_items_order"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product"], ["products.id"], name=op.f("fk_order_items_product"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_items")),
        comment="One line of an order; the unit price is copied from the product.",
    )
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.create_index("ix_order_items_order", ["order"], unique=False)
        batch_op.create_index("ix_order_items_product", ["product"], unique=False)
        batch_op.create_index("uq_order_items_order_product", ["order", "product"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_index("uq_order_items_order_product")
        batch_op.drop_index("ix_order_items_product")
        batch_op.drop_index("ix_order_items_order")

    op.drop_table("order_items")
    with op.batch_alter_table("product_tags", schema=None) as batch_op:
        batch_op.drop_index("uq_product_tags_product_tag")
        batch_op.drop_index("ix_product_tags_tag")
        batch_op.drop_index("ix_product_tags_product")

    op.drop_table("product_tags")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("uq_orders_number")
        batch_op.drop_index("orders_by_customer_recent")
        batch_op.drop_index("ix_orders_customer_status")
        batch_op.drop_index("ix_orders_customer")

    op.drop_table("orders")
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_index("uq_tags_name")

    op.drop_table("tags")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index("uq_products_sku")
        batch_op.drop_index("ix_products_status_name")

    op.drop_table("products")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("uq_customers_email")

    op.drop_table("customers")
