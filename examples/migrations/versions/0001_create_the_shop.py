"""create the shop

Revision ID: 0001_f6d61ad8ede8
Revises: None

Planned by Bastion from the blueprint; read it before `bastion migrate apply`.
It runs on SQLite and PostgreSQL alike, whichever one it was planned on.
BLUEPRINT_SNAPSHOT is the schema this revision leaves behind: later plans
compare the live database with it to report changes made by hand (drift).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_f6d61ad8ede8"
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
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 200,
                },
                "email": {
                    "type": "email",
                    "required": True,
                    "unique": True,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 320,
                },
                "phone": {
                    "type": "string",
                    "required": False,
                    "unique": False,
                    "description": "International format, e.g. +44 20 7946 0958.",
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 32,
                },
                "vip": {
                    "type": "boolean",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": False,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "api_secret": {
                    "type": "string",
                    "required": False,
                    "unique": False,
                    "description": "Sent by the customer's integration; never served back.",
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
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
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 32,
                },
                "name": {
                    "type": "string",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": True,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 200,
                },
                "description": {
                    "type": "text",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": True,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 10000,
                },
                "price": {
                    "type": "decimal",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": True,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "precision": 10,
                    "scale": 2,
                },
                "stock": {
                    "type": "integer",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": 0,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "attributes": {
                    "type": "json",
                    "required": False,
                    "unique": False,
                    "description": "Free-form details: size, colour, material.",
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "status": {
                    "type": "enum",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": "draft",
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
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
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "resource": "customers",
                    "on_delete": "restrict",
                },
                "number": {
                    "type": "string",
                    "required": False,
                    "unique": True,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 20,
                },
                "status": {
                    "type": "enum",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": "pending",
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "values": ["pending", "paid", "shipped", "cancelled"],
                },
                "placed_at": {
                    "type": "datetime",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": True,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "total": {
                    "type": "decimal",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": "0.00",
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
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
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "resource": "orders",
                    "on_delete": "cascade",
                },
                "product": {
                    "type": "belongs_to",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "resource": "products",
                    "on_delete": "restrict",
                },
                "quantity": {
                    "type": "integer",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "unit_price": {
                    "type": "decimal",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
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
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
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
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "resource": "products",
                    "on_delete": "cascade",
                },
                "tag": {
                    "type": "belongs_to",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "resource": "tags",
                    "on_delete": "cascade",
                },
            },
            "indexes": [{"fields": ["product", "tag"], "unique": True, "name": None}],
        },
        "users": {
            "description": "People and services that sign in.",
            "fields": {
                "email": {
                    "type": "email",
                    "required": False,
                    "unique": True,
                    "description": "Sign-in address (none for service accounts).",
                    "default": None,
                    "filterable": True,
                    "sortable": True,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": ["anyone"],
                    "max_length": 320,
                },
                "name": {
                    "type": "string",
                    "required": False,
                    "unique": False,
                    "description": "Display name.",
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 200,
                },
                "kind": {
                    "type": "enum",
                    "required": False,
                    "unique": False,
                    "description": "person (password) or service (client credentials).",
                    "default": "person",
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "values": ["person", "service"],
                },
                "roles": {
                    "type": "json",
                    "required": False,
                    "unique": False,
                    "description": "Role names; only admins assign them.",
                    "default": [],
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": ["anyone"],
                },
                "tenant": {
                    "type": "belongs_to",
                    "required": False,
                    "unique": False,
                    "description": "The user's tenant (the token's tenant claim).",
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": ["anyone"],
                    "resource": "tenants",
                    "on_delete": "restrict",
                },
                "status": {
                    "type": "enum",
                    "required": False,
                    "unique": False,
                    "description": "Disabled users cannot sign in; tokens stop.",
                    "default": "active",
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": ["anyone"],
                    "values": ["active", "disabled"],
                },
                "email_verified": {
                    "type": "boolean",
                    "required": False,
                    "unique": False,
                    "description": "Set by the email verification flow.",
                    "default": False,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "mfa_enabled": {
                    "type": "boolean",
                    "required": False,
                    "unique": False,
                    "description": "Set by MFA enrolment.",
                    "default": False,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
            },
            "indexes": [],
        },
        "tenants": {
            "description": "Organisations whose data is kept apart.",
            "fields": {
                "name": {
                    "type": "string",
                    "required": True,
                    "unique": True,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 200,
                },
            },
            "indexes": [],
        },
        "bastion_credentials": {
            "description": "Password and MFA secrets (hashed or encrypted).",
            "fields": {
                "user": {
                    "type": "belongs_to",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "resource": "users",
                    "on_delete": "cascade",
                },
                "password_hash": {
                    "type": "string",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 512,
                },
                "client_secret_hash": {
                    "type": "string",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 512,
                },
                "totp_secret": {
                    "type": "string",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 512,
                },
                "totp_last_step": {
                    "type": "integer",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "recovery_codes": {
                    "type": "json",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": [],
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "sessions_valid_after": {
                    "type": "datetime",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
            },
            "indexes": [],
        },
        "bastion_refresh_tokens": {
            "description": "Refresh tokens (hashed), one family per sign-in.",
            "fields": {
                "user": {
                    "type": "belongs_to",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "resource": "users",
                    "on_delete": "cascade",
                },
                "family": {
                    "type": "uuid",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "token_hash": {
                    "type": "string",
                    "required": True,
                    "unique": True,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 64,
                },
                "scopes": {
                    "type": "json",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": [],
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "expires_at": {
                    "type": "datetime",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "used_at": {
                    "type": "datetime",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "revoked_at": {
                    "type": "datetime",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
            },
            "indexes": [],
        },
        "bastion_api_keys": {
            "description": "API keys for machines (hashed).",
            "fields": {
                "user": {
                    "type": "belongs_to",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "resource": "users",
                    "on_delete": "cascade",
                },
                "name": {
                    "type": "string",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 200,
                },
                "prefix": {
                    "type": "string",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 16,
                },
                "key_hash": {
                    "type": "string",
                    "required": True,
                    "unique": True,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 64,
                },
                "scopes": {
                    "type": "json",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": [],
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "expires_at": {
                    "type": "datetime",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "last_used_at": {
                    "type": "datetime",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "revoked_at": {
                    "type": "datetime",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
            },
            "indexes": [],
        },
        "bastion_one_time_tokens": {
            "description": "Single-use, time-limited tokens.",
            "fields": {
                "user": {
                    "type": "belongs_to",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "resource": "users",
                    "on_delete": "cascade",
                },
                "purpose": {
                    "type": "enum",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "values": ["verify_email", "reset_password", "mfa_login"],
                },
                "token_hash": {
                    "type": "string",
                    "required": True,
                    "unique": True,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 64,
                },
                "expires_at": {
                    "type": "datetime",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "used_at": {
                    "type": "datetime",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
            },
            "indexes": [],
        },
        "bastion_invitations": {
            "description": "Invitations to register.",
            "fields": {
                "email": {
                    "type": "email",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 320,
                },
                "roles": {
                    "type": "json",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": [],
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "tenant": {
                    "type": "uuid",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "token_hash": {
                    "type": "string",
                    "required": True,
                    "unique": True,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 64,
                },
                "invited_by": {
                    "type": "uuid",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "expires_at": {
                    "type": "datetime",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "used_at": {
                    "type": "datetime",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
            },
            "indexes": [],
        },
        "bastion_signing_keys": {
            "description": "Token signing keys (private keys encrypted).",
            "fields": {
                "kid": {
                    "type": "string",
                    "required": True,
                    "unique": True,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 64,
                },
                "algorithm": {
                    "type": "string",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 16,
                },
                "private_key": {
                    "type": "text",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": None,
                },
                "public_jwk": {
                    "type": "json",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "retired_at": {
                    "type": "datetime",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
            },
            "indexes": [],
        },
        "bastion_revocations": {
            "description": "Revoked access tokens and per-user cut-offs.",
            "fields": {
                "jti": {
                    "type": "string",
                    "required": True,
                    "unique": True,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 128,
                },
                "issued_before": {
                    "type": "datetime",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "expires_at": {
                    "type": "datetime",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
            },
            "indexes": [],
        },
        "bastion_auth_events": {
            "description": "Audit trail of sign-ins and account changes.",
            "fields": {
                "kind": {
                    "type": "string",
                    "required": True,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 64,
                },
                "user": {
                    "type": "uuid",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "actor": {
                    "type": "uuid",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": True,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
                "ip": {
                    "type": "string",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 64,
                },
                "request_id": {
                    "type": "string",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": None,
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                    "max_length": 128,
                },
                "detail": {
                    "type": "json",
                    "required": False,
                    "unique": False,
                    "description": None,
                    "default": {},
                    "filterable": False,
                    "sortable": False,
                    "searchable": False,
                    "hidden_from": [],
                    "read_only_for": [],
                },
            },
            "indexes": [],
        },
    },
}


def upgrade() -> None:
    op.create_table(
        "bastion_auth_events",
        sa.Column("id", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.String(length=64, collation="C").with_variant(sa.String(length=64), "sqlite"),
            nullable=False,
        ),
        sa.Column("user", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=True),
        sa.Column("actor", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=True),
        sa.Column(
            "ip",
            sa.String(length=64, collation="C").with_variant(sa.String(length=64), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "request_id",
            sa.String(length=128, collation="C").with_variant(sa.String(length=128), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "detail",
            postgresql.JSONB(astext_type=sa.Text()).with_variant(sa.Text(), "sqlite"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bastion_auth_events")),
        comment="Audit trail of sign-ins and account changes.",
    )
    with op.batch_alter_table("bastion_auth_events", schema=None) as batch_op:
        batch_op.create_index("ix_bastion_auth_events_actor", ["actor"], unique=False)
        batch_op.create_index(
            "ix_bastion_auth_events_created_at_id", ["created_at", "id"], unique=False
        )
        batch_op.create_index("ix_bastion_auth_events_kind", ["kind"], unique=False)
        batch_op.create_index("ix_bastion_auth_events_user", ["user"], unique=False)

    op.create_table(
        "bastion_idempotency_keys",
        sa.Column(
            "scope",
            sa.String(length=512, collation="C").with_variant(sa.String(length=512), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "key",
            sa.String(length=255, collation="C").with_variant(sa.String(length=255), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "endpoint",
            sa.String(length=512, collation="C").with_variant(sa.String(length=512), "sqlite"),
            nullable=False,
        ),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "expires_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_bastion_idempotency_keys")),
        comment="Used idempotency keys and the responses to replay (Bastion's own)",
    )
    with op.batch_alter_table("bastion_idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bastion_idempotency_keys_expires_at", ["expires_at"], unique=False
        )

    op.create_table(
        "bastion_invitations",
        sa.Column("id", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "email",
            sa.String(length=320, collation="C").with_variant(sa.String(length=320), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "roles",
            postgresql.JSONB(astext_type=sa.Text()).with_variant(sa.Text(), "sqlite"),
            nullable=True,
        ),
        sa.Column("tenant", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=True),
        sa.Column(
            "token_hash",
            sa.String(length=64, collation="C").with_variant(sa.String(length=64), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "invited_by", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=True
        ),
        sa.Column(
            "expires_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "used_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bastion_invitations")),
        comment="Invitations to register.",
    )
    with op.batch_alter_table("bastion_invitations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bastion_invitations_created_at_id", ["created_at", "id"], unique=False
        )
        batch_op.create_index("ix_bastion_invitations_email", ["email"], unique=False)
        batch_op.create_index("uq_bastion_invitations_token_hash", ["token_hash"], unique=True)

    op.create_table(
        "bastion_revocations",
        sa.Column("id", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "jti",
            sa.String(length=128, collation="C").with_variant(sa.String(length=128), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "issued_before",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "expires_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bastion_revocations")),
        comment="Revoked access tokens and per-user cut-offs.",
    )
    with op.batch_alter_table("bastion_revocations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bastion_revocations_created_at_id", ["created_at", "id"], unique=False
        )
        batch_op.create_index("ix_bastion_revocations_expires_at", ["expires_at"], unique=False)
        batch_op.create_index("uq_bastion_revocations_jti", ["jti"], unique=True)

    op.create_table(
        "bastion_signing_keys",
        sa.Column("id", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "kid",
            sa.String(length=64, collation="C").with_variant(sa.String(length=64), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "algorithm",
            sa.String(length=16, collation="C").with_variant(sa.String(length=16), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "private_key", sa.Text(collation="C").with_variant(sa.Text(), "sqlite"), nullable=False
        ),
        sa.Column(
            "public_jwk",
            postgresql.JSONB(astext_type=sa.Text()).with_variant(sa.Text(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "retired_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bastion_signing_keys")),
        comment="Token signing keys (private keys encrypted).",
    )
    with op.batch_alter_table("bastion_signing_keys", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bastion_signing_keys_created_at_id", ["created_at", "id"], unique=False
        )
        batch_op.create_index("uq_bastion_signing_keys_kid", ["kid"], unique=True)

    op.create_table(
        "customers",
        sa.Column("id", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "name",
            sa.String(length=200, collation="C").with_variant(sa.String(length=200), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "email",
            sa.String(length=320, collation="C").with_variant(sa.String(length=320), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "phone",
            sa.String(length=32, collation="C").with_variant(sa.String(length=32), "sqlite"),
            nullable=True,
            comment="International format, e.g. +44 20 7946 0958.",
        ),
        sa.Column("vip", sa.Boolean(), server_default="0", nullable=True),
        sa.Column(
            "api_secret",
            sa.String(length=128, collation="C").with_variant(sa.String(length=128), "sqlite"),
            nullable=True,
            comment="Sent by the customer's integration; never served back.",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        comment="People who buy.",
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index("ix_customers_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("uq_customers_email", ["email"], unique=True)

    op.create_table(
        "products",
        sa.Column("id", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "sku",
            sa.String(length=32, collation="C").with_variant(sa.String(length=32), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "name",
            sa.String(length=200, collation="C").with_variant(sa.String(length=200), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "description", sa.Text(collation="C").with_variant(sa.Text(), "sqlite"), nullable=True
        ),
        sa.Column(
            "price",
            sa.Numeric(precision=10, scale=2).with_variant(sa.BigInteger(), "sqlite"),
            nullable=False,
        ),
        sa.Column("stock", sa.BigInteger(), server_default="0", nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()).with_variant(sa.Text(), "sqlite"),
            nullable=True,
            comment="Free-form details: size, colour, material.",
        ),
        sa.Column(
            "status",
            sa.String(length=64, collation="C").with_variant(sa.String(length=64), "sqlite"),
            server_default="draft",
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        comment="What the shop sells. Only active products can be ordered.",
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index("ix_products_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_products_price_id", ["price", "id"], unique=False)
        batch_op.create_index("ix_products_status_name", ["status", "name"], unique=False)
        batch_op.create_index("uq_products_sku", ["sku"], unique=True)

    op.create_table(
        "tags",
        sa.Column("id", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "name",
            sa.String(length=50, collation="C").with_variant(sa.String(length=50), "sqlite"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
    )
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.create_index("ix_tags_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("uq_tags_name", ["name"], unique=True)

    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "name",
            sa.String(length=200, collation="C").with_variant(sa.String(length=200), "sqlite"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        comment="Organisations whose data is kept apart.",
    )
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.create_index("ix_tenants_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("uq_tenants_name", ["name"], unique=True)

    op.create_table(
        "orders",
        sa.Column("id", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "customer", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False
        ),
        sa.Column(
            "number",
            sa.String(length=20, collation="C").with_variant(sa.String(length=20), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "status",
            sa.String(length=64, collation="C").with_variant(sa.String(length=64), "sqlite"),
            server_default="pending",
            nullable=True,
        ),
        sa.Column(
            "placed_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "total",
            sa.Numeric(precision=12, scale=2).with_variant(sa.BigInteger(), "sqlite"),
            server_default="0" if op.get_bind().dialect.name == "sqlite" else "0.00",
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["customer"], ["customers.id"], name=op.f("fk_orders_customer"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        comment="A customer's order; its number is given by a hook.",
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_orders_customer_status", ["customer", "status"], unique=False)
        batch_op.create_index("ix_orders_placed_at_id", ["placed_at", "id"], unique=False)
        batch_op.create_index("ix_orders_status", ["status"], unique=False)
        batch_op.create_index("orders_by_customer_recent", ["customer", "placed_at"], unique=False)
        batch_op.create_index("uq_orders_number", ["number"], unique=True)

    op.create_table(
        "product_tags",
        sa.Column("id", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "product", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False
        ),
        sa.Column("tag", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
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
        batch_op.create_index("ix_product_tags_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_product_tags_tag", ["tag"], unique=False)
        batch_op.create_index("uq_product_tags_product_tag", ["product", "tag"], unique=True)

    op.create_table(
        "users",
        sa.Column("id", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "email",
            sa.String(length=320, collation="C").with_variant(sa.String(length=320), "sqlite"),
            nullable=True,
            comment="Sign-in address (none for service accounts).",
        ),
        sa.Column(
            "name",
            sa.String(length=200, collation="C").with_variant(sa.String(length=200), "sqlite"),
            nullable=True,
            comment="Display name.",
        ),
        sa.Column(
            "kind",
            sa.String(length=64, collation="C").with_variant(sa.String(length=64), "sqlite"),
            server_default="person",
            nullable=True,
            comment="person (password) or service (client credentials).",
        ),
        sa.Column(
            "roles",
            postgresql.JSONB(astext_type=sa.Text()).with_variant(sa.Text(), "sqlite"),
            nullable=True,
            comment="Role names; only admins assign them.",
        ),
        sa.Column(
            "tenant",
            sa.Uuid().with_variant(sa.String(length=36), "sqlite"),
            nullable=True,
            comment="The user's tenant (the token's tenant claim).",
        ),
        sa.Column(
            "status",
            sa.String(length=64, collation="C").with_variant(sa.String(length=64), "sqlite"),
            server_default="active",
            nullable=True,
            comment="Disabled users cannot sign in; tokens stop.",
        ),
        sa.Column(
            "email_verified",
            sa.Boolean(),
            server_default="0",
            nullable=True,
            comment="Set by the email verification flow.",
        ),
        sa.Column(
            "mfa_enabled",
            sa.Boolean(),
            server_default="0",
            nullable=True,
            comment="Set by MFA enrolment.",
        ),
        sa.ForeignKeyConstraint(
            ["tenant"], ["tenants.id"], name=op.f("fk_users_tenant"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        comment="People and services that sign in.",
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_users_email_id", ["email", "id"], unique=False)
        batch_op.create_index("ix_users_kind", ["kind"], unique=False)
        batch_op.create_index("ix_users_name", ["name"], unique=False)
        batch_op.create_index("ix_users_status", ["status"], unique=False)
        batch_op.create_index("ix_users_tenant", ["tenant"], unique=False)
        batch_op.create_index("uq_users_email", ["email"], unique=True)

    op.create_table(
        "bastion_api_keys",
        sa.Column("id", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("user", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "name",
            sa.String(length=200, collation="C").with_variant(sa.String(length=200), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "prefix",
            sa.String(length=16, collation="C").with_variant(sa.String(length=16), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "key_hash",
            sa.String(length=64, collation="C").with_variant(sa.String(length=64), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "scopes",
            postgresql.JSONB(astext_type=sa.Text()).with_variant(sa.Text(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "expires_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "last_used_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "revoked_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["user"], ["users.id"], name=op.f("fk_bastion_api_keys_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bastion_api_keys")),
        comment="API keys for machines (hashed).",
    )
    with op.batch_alter_table("bastion_api_keys", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bastion_api_keys_created_at_id", ["created_at", "id"], unique=False
        )
        batch_op.create_index("ix_bastion_api_keys_prefix", ["prefix"], unique=False)
        batch_op.create_index("ix_bastion_api_keys_user", ["user"], unique=False)
        batch_op.create_index("uq_bastion_api_keys_key_hash", ["key_hash"], unique=True)

    op.create_table(
        "bastion_credentials",
        sa.Column("id", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("user", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "password_hash",
            sa.String(length=512, collation="C").with_variant(sa.String(length=512), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "client_secret_hash",
            sa.String(length=512, collation="C").with_variant(sa.String(length=512), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "totp_secret",
            sa.String(length=512, collation="C").with_variant(sa.String(length=512), "sqlite"),
            nullable=True,
        ),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column(
            "recovery_codes",
            postgresql.JSONB(astext_type=sa.Text()).with_variant(sa.Text(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "sessions_valid_after",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["user"], ["users.id"], name=op.f("fk_bastion_credentials_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bastion_credentials")),
        comment="Password and MFA secrets (hashed or encrypted).",
    )
    with op.batch_alter_table("bastion_credentials", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bastion_credentials_created_at_id", ["created_at", "id"], unique=False
        )
        batch_op.create_index("ix_bastion_credentials_user", ["user"], unique=False)

    op.create_table(
        "bastion_one_time_tokens",
        sa.Column("id", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("user", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "purpose",
            sa.String(length=64, collation="C").with_variant(sa.String(length=64), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "token_hash",
            sa.String(length=64, collation="C").with_variant(sa.String(length=64), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "expires_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "used_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["user"], ["users.id"], name=op.f("fk_bastion_one_time_tokens_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bastion_one_time_tokens")),
        comment="Single-use, time-limited tokens.",
    )
    with op.batch_alter_table("bastion_one_time_tokens", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bastion_one_time_tokens_created_at_id", ["created_at", "id"], unique=False
        )
        batch_op.create_index("ix_bastion_one_time_tokens_purpose", ["purpose"], unique=False)
        batch_op.create_index("ix_bastion_one_time_tokens_user", ["user"], unique=False)
        batch_op.create_index("uq_bastion_one_time_tokens_token_hash", ["token_hash"], unique=True)

    op.create_table(
        "bastion_refresh_tokens",
        sa.Column("id", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("user", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column("family", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "token_hash",
            sa.String(length=64, collation="C").with_variant(sa.String(length=64), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "scopes",
            postgresql.JSONB(astext_type=sa.Text()).with_variant(sa.Text(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "expires_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "used_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "revoked_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["user"], ["users.id"], name=op.f("fk_bastion_refresh_tokens_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bastion_refresh_tokens")),
        comment="Refresh tokens (hashed), one family per sign-in.",
    )
    with op.batch_alter_table("bastion_refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bastion_refresh_tokens_created_at_id", ["created_at", "id"], unique=False
        )
        batch_op.create_index("ix_bastion_refresh_tokens_family", ["family"], unique=False)
        batch_op.create_index("ix_bastion_refresh_tokens_user", ["user"], unique=False)
        batch_op.create_index("uq_bastion_refresh_tokens_token_hash", ["token_hash"], unique=True)

    op.create_table(
        "order_items",
        sa.Column("id", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("order", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False),
        sa.Column(
            "product", sa.Uuid().with_variant(sa.String(length=36), "sqlite"), nullable=False
        ),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column(
            "unit_price",
            sa.Numeric(precision=10, scale=2).with_variant(sa.BigInteger(), "sqlite"),
            nullable=True,
        ),
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
        batch_op.create_index("ix_order_items_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_order_items_product", ["product"], unique=False)
        batch_op.create_index("uq_order_items_order_product", ["order", "product"], unique=True)

    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            " ".join(
                [
                    'CREATE VIRTUAL TABLE "bastion_search_products" USING fts5("name",',
                    "\"description\", content='products', content_rowid='rowid',",
                    "tokenize='unicode61 remove_diacritics 2')",
                ]
            )
        )
        op.execute(
            " ".join(
                [
                    'CREATE TRIGGER "bastion_search_products_ai" AFTER INSERT ON "products"',
                    'BEGIN INSERT INTO "bastion_search_products" (rowid, "name",',
                    '"description") VALUES (new.rowid, new."name", new."description"); END',
                ]
            )
        )
        op.execute(
            " ".join(
                [
                    'CREATE TRIGGER "bastion_search_products_ad" AFTER DELETE ON "products"',
                    'BEGIN INSERT INTO "bastion_search_products"',
                    '("bastion_search_products", rowid, "name", "description") VALUES',
                    '(\'delete\', old.rowid, old."name", old."description"); END',
                ]
            )
        )
        op.execute(
            " ".join(
                [
                    'CREATE TRIGGER "bastion_search_products_au" AFTER UPDATE OF "name",',
                    '"description" ON "products" BEGIN INSERT INTO',
                    '"bastion_search_products" ("bastion_search_products", rowid, "name",',
                    '"description") VALUES (\'delete\', old.rowid, old."name",',
                    'old."description"); INSERT INTO "bastion_search_products" (rowid,',
                    '"name", "description") VALUES (new.rowid, new."name",',
                    'new."description"); END',
                ]
            )
        )
        op.execute(
            " ".join(
                [
                    'INSERT INTO "bastion_search_products" ("bastion_search_products")',
                    "VALUES ('rebuild')",
                ]
            )
        )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            " ".join(
                [
                    'ALTER TABLE "products" ADD COLUMN "bastion_search" tsvector GENERATED',
                    "ALWAYS AS (to_tsvector('simple', coalesce(\"name\", '') || ' ' ||",
                    "coalesce(\"description\", ''))) STORED",
                ]
            )
        )
        op.execute(
            " ".join(
                [
                    'CREATE INDEX "ix_products_bastion_search" ON "products" USING gin',
                    '("bastion_search")',
                ]
            )
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute('DROP TRIGGER IF EXISTS "bastion_search_products_ai"')
        op.execute('DROP TRIGGER IF EXISTS "bastion_search_products_ad"')
        op.execute('DROP TRIGGER IF EXISTS "bastion_search_products_au"')
        op.execute('DROP TABLE IF EXISTS "bastion_search_products"')

    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE "products" DROP COLUMN IF EXISTS "bastion_search"')

    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_index("uq_order_items_order_product")
        batch_op.drop_index("ix_order_items_product")
        batch_op.drop_index("ix_order_items_created_at_id")

    op.drop_table("order_items")
    with op.batch_alter_table("bastion_refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index("uq_bastion_refresh_tokens_token_hash")
        batch_op.drop_index("ix_bastion_refresh_tokens_user")
        batch_op.drop_index("ix_bastion_refresh_tokens_family")
        batch_op.drop_index("ix_bastion_refresh_tokens_created_at_id")

    op.drop_table("bastion_refresh_tokens")
    with op.batch_alter_table("bastion_one_time_tokens", schema=None) as batch_op:
        batch_op.drop_index("uq_bastion_one_time_tokens_token_hash")
        batch_op.drop_index("ix_bastion_one_time_tokens_user")
        batch_op.drop_index("ix_bastion_one_time_tokens_purpose")
        batch_op.drop_index("ix_bastion_one_time_tokens_created_at_id")

    op.drop_table("bastion_one_time_tokens")
    with op.batch_alter_table("bastion_credentials", schema=None) as batch_op:
        batch_op.drop_index("ix_bastion_credentials_user")
        batch_op.drop_index("ix_bastion_credentials_created_at_id")

    op.drop_table("bastion_credentials")
    with op.batch_alter_table("bastion_api_keys", schema=None) as batch_op:
        batch_op.drop_index("uq_bastion_api_keys_key_hash")
        batch_op.drop_index("ix_bastion_api_keys_user")
        batch_op.drop_index("ix_bastion_api_keys_prefix")
        batch_op.drop_index("ix_bastion_api_keys_created_at_id")

    op.drop_table("bastion_api_keys")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("uq_users_email")
        batch_op.drop_index("ix_users_tenant")
        batch_op.drop_index("ix_users_status")
        batch_op.drop_index("ix_users_name")
        batch_op.drop_index("ix_users_kind")
        batch_op.drop_index("ix_users_email_id")
        batch_op.drop_index("ix_users_created_at_id")

    op.drop_table("users")
    with op.batch_alter_table("product_tags", schema=None) as batch_op:
        batch_op.drop_index("uq_product_tags_product_tag")
        batch_op.drop_index("ix_product_tags_tag")
        batch_op.drop_index("ix_product_tags_created_at_id")

    op.drop_table("product_tags")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("uq_orders_number")
        batch_op.drop_index("orders_by_customer_recent")
        batch_op.drop_index("ix_orders_status")
        batch_op.drop_index("ix_orders_placed_at_id")
        batch_op.drop_index("ix_orders_customer_status")
        batch_op.drop_index("ix_orders_created_at_id")

    op.drop_table("orders")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_index("uq_tenants_name")
        batch_op.drop_index("ix_tenants_created_at_id")

    op.drop_table("tenants")
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_index("uq_tags_name")
        batch_op.drop_index("ix_tags_created_at_id")

    op.drop_table("tags")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index("uq_products_sku")
        batch_op.drop_index("ix_products_status_name")
        batch_op.drop_index("ix_products_price_id")
        batch_op.drop_index("ix_products_created_at_id")

    op.drop_table("products")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("uq_customers_email")
        batch_op.drop_index("ix_customers_created_at_id")

    op.drop_table("customers")
    with op.batch_alter_table("bastion_signing_keys", schema=None) as batch_op:
        batch_op.drop_index("uq_bastion_signing_keys_kid")
        batch_op.drop_index("ix_bastion_signing_keys_created_at_id")

    op.drop_table("bastion_signing_keys")
    with op.batch_alter_table("bastion_revocations", schema=None) as batch_op:
        batch_op.drop_index("uq_bastion_revocations_jti")
        batch_op.drop_index("ix_bastion_revocations_expires_at")
        batch_op.drop_index("ix_bastion_revocations_created_at_id")

    op.drop_table("bastion_revocations")
    with op.batch_alter_table("bastion_invitations", schema=None) as batch_op:
        batch_op.drop_index("uq_bastion_invitations_token_hash")
        batch_op.drop_index("ix_bastion_invitations_email")
        batch_op.drop_index("ix_bastion_invitations_created_at_id")

    op.drop_table("bastion_invitations")
    with op.batch_alter_table("bastion_idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_bastion_idempotency_keys_expires_at")

    op.drop_table("bastion_idempotency_keys")
    with op.batch_alter_table("bastion_auth_events", schema=None) as batch_op:
        batch_op.drop_index("ix_bastion_auth_events_user")
        batch_op.drop_index("ix_bastion_auth_events_kind")
        batch_op.drop_index("ix_bastion_auth_events_created_at_id")
        batch_op.drop_index("ix_bastion_auth_events_actor")

    op.drop_table("bastion_auth_events")
