"""The blueprint model: resources, fields, relations, indexes.

These pydantic models are both the parsed form of ``bastion.yaml`` and the
Python API for building the same blueprint in code::

    from bastion.blueprint import Blueprint, Resource, StringField, BelongsTo

    blueprint = Blueprint(
        resources={
            "customers": Resource(fields={"name": StringField(max_length=100)}),
            "orders": Resource(
                fields={"customer": BelongsTo(resource="customers", required=True)}
            ),
        }
    )

A model that parses is not yet a valid blueprint: cross-references (a
relation to a missing resource, an index on an unknown field, a cycle of
required relations) are checked by :func:`bastion.blueprint.validate`.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from bastion.blueprint.access import AuthSpec, RoleGrant
from bastion.blueprint.flags import FlagSpec

__all__ = [
    "FIELD_TYPES",
    "QUERY_PARAMETERS",
    "SYSTEM_FIELDS",
    "AnyField",
    "ApiVersion",
    "BelongsTo",
    "Blueprint",
    "BooleanField",
    "CacheSpec",
    "DateField",
    "DateTimeField",
    "DecimalField",
    "EmailField",
    "EnumField",
    "FloatField",
    "HasMany",
    "Index",
    "IntegerField",
    "JsonField",
    "OnDelete",
    "PageSize",
    "Resource",
    "StringField",
    "TextField",
    "UrlField",
    "UuidField",
    "VersionChanges",
]

SYSTEM_FIELDS: tuple[str, ...] = ("id", "created_at", "updated_at", "version")
"""Fields Bastion adds to every resource; a blueprint may not declare them."""

QUERY_PARAMETERS: tuple[str, ...] = (
    "limit",
    "cursor",
    "sort",
    "fields",
    "expand",
    "count",
    "q",
    "as_of",
    "include",
    "group_by",
)
"""Query-string words of the REST API; a field with one of these names is refused."""


class _Spec(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )


class _FieldBase(_Spec):
    """Options every field type accepts."""

    required: bool = False
    """The field must be given on create (and may not be null)."""
    unique: bool = False
    """No two records share a value (enforced by a unique index)."""
    read_only: bool = False
    """Clients may read but never write it; hooks may set it."""
    write_only: bool = False
    """Clients may write but never read it back (secrets)."""
    description: str | None = None
    """Shown in the API documentation."""
    renamed_from: str | None = None
    """The field's previous name: the migration renames the column instead of dropping it."""
    default: Any = None
    """Value used when a create does not give one; must satisfy the field's own rules."""
    filterable: bool = False
    """Lists may filter on it (``?field=value``, ``?field[op]=value``); indexed."""
    sortable: bool = False
    """Lists may sort by it (``?sort=-field``); indexed."""
    searchable: bool = False
    """Included in full-text search (``?q=``); text-like fields only."""
    hidden_from: list[str] = Field(default_factory=list)
    """Roles that never see the field, nor filter, sort or search on it, nor write it."""
    read_only_for: list[str] = Field(default_factory=list)
    """Roles that may read the field but not write it."""
    flag: str | None = None
    """A boolean feature flag (see ``flags``): while it is off for a caller, the field is
    hidden from them as ``hidden_from`` hides it."""
    personal: bool = False
    """Personal data: in the event log its values are encrypted with a key of the
    record's own, which ``bastion audit erase`` deletes (erasure keeps the hash chain)."""

    @model_serializer(mode="wrap")
    def _serialize_with_type(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # ``type`` tells the field kinds apart, so a dump must keep it even when
        # defaults are left out (``exclude_defaults=True``), or it cannot be read back.
        data: dict[str, Any] = handler(self)
        return {"type": getattr(self, "type"), **data}  # noqa: B009 - declared by each subclass

    @property
    def has_default(self) -> bool:
        """Whether the blueprint declared a default (``null`` counts as none)."""
        return self.default is not None


class StringField(_FieldBase):
    """A single line of text, with optional length limits and pattern."""

    type: Literal["string"] = "string"
    max_length: int = Field(default=255, ge=1, le=65535)
    min_length: int = Field(default=0, ge=0)
    pattern: str | None = None


class TextField(_FieldBase):
    """Unbounded text (descriptions, bodies)."""

    type: Literal["text"] = "text"
    max_length: int | None = Field(default=None, ge=1)


class IntegerField(_FieldBase):
    """A 64-bit signed integer."""

    type: Literal["integer"] = "integer"
    min: int | None = None
    max: int | None = None


class FloatField(_FieldBase):
    """A double-precision float (for measurements; use decimal for money)."""

    type: Literal["float"] = "float"
    min: float | None = None
    max: float | None = None


class DecimalField(_FieldBase):
    """An exact decimal number; serialized as a JSON string."""

    type: Literal["decimal"] = "decimal"
    precision: int | None = None
    """Total number of digits (1 to 18, so SQLite can store it as an exact scaled integer)."""
    scale: int | None = None
    """Digits after the decimal point (0 to precision)."""
    min: str | int | float | None = None
    max: str | int | float | None = None


class BooleanField(_FieldBase):
    """True or false."""

    type: Literal["boolean"] = "boolean"


class DateField(_FieldBase):
    """A calendar date (``2026-11-25``)."""

    type: Literal["date"] = "date"


class DateTimeField(_FieldBase):
    """A timezone-aware instant, stored in UTC, served as RFC 3339 with ``Z``."""

    type: Literal["datetime"] = "datetime"


class UuidField(_FieldBase):
    """A UUID value."""

    type: Literal["uuid"] = "uuid"


class EnumField(_FieldBase):
    """One of a fixed list of strings."""

    type: Literal["enum"] = "enum"
    values: list[str] = Field(default_factory=list)


class EmailField(_FieldBase):
    """An e-mail address (syntax checked)."""

    type: Literal["email"] = "email"
    max_length: int = Field(default=320, ge=3, le=320)


class UrlField(_FieldBase):
    """An absolute http(s) URL."""

    type: Literal["url"] = "url"
    max_length: int = Field(default=2048, ge=8, le=65535)


class JsonField(_FieldBase):
    """A JSON document, for schemaless data."""

    type: Literal["json"] = "json"


class OnDelete(StrEnum):
    """What happens to a record when the record it belongs to is deleted."""

    CASCADE = "cascade"
    RESTRICT = "restrict"
    SET_NULL = "set_null"


class BelongsTo(_FieldBase):
    """A reference to a record of another resource (stored as its id)."""

    type: Literal["belongs_to"] = "belongs_to"
    resource: str
    """The name of the resource referred to."""
    on_delete: OnDelete = OnDelete.RESTRICT
    """``restrict`` (refuse with 409), ``cascade`` (delete this record too) or ``set_null``."""
    owner: bool = False
    """This reference names the record's owner (used by access rules)."""


AnyField = Annotated[
    StringField
    | TextField
    | IntegerField
    | FloatField
    | DecimalField
    | BooleanField
    | DateField
    | DateTimeField
    | UuidField
    | EnumField
    | EmailField
    | UrlField
    | JsonField
    | BelongsTo,
    Field(discriminator="type"),
]

FIELD_TYPES: tuple[str, ...] = (
    "string",
    "text",
    "integer",
    "float",
    "decimal",
    "boolean",
    "date",
    "datetime",
    "uuid",
    "enum",
    "email",
    "url",
    "json",
    "belongs_to",
)
"""Every field type a blueprint may use."""


class HasMany(_Spec):
    """The inverse of a ``belongs_to``: the records of ``resource`` whose ``via`` is this one.

    With ``through``, a many-to-many relation: ``resource`` is reached through
    the join resource ``through``, which belongs to both sides.
    """

    resource: str
    via: str | None = None
    """The ``belongs_to`` field on ``resource`` (or on ``through``) pointing back here."""
    through: str | None = None
    """A join resource for many-to-many relations."""
    expand_limit: int = Field(default=20, ge=1, le=1000)
    """Most related records ``?expand=`` embeds per record."""


class Index(_Spec):
    """A composite index, optionally unique."""

    fields: list[str] = Field(min_length=1)
    unique: bool = False
    name: str | None = None


class PageSize(_Spec):
    """How many records a list page holds."""

    default: int = Field(default=20, ge=1, le=1000)
    max: int = Field(default=100, ge=1, le=1000)


class CacheSpec(_Spec):
    """How a resource's reads are cached; ``cache: false`` in YAML turns caching off.

    Bastion caches stored records (never responses) and applies access rules
    after every hit, so caching never shows a caller more than it may see.
    """

    enabled: bool = True
    """Keep this resource's records and list pages in the read cache."""
    ttl: int | None = Field(default=None, ge=1, le=86_400)
    """Seconds a cached entry lives at most (writes invalidate it at once anyway);
    the ``cache_ttl_seconds`` setting when unset."""
    max_age: int = Field(default=0, ge=0, le=31_536_000)
    """``Cache-Control: max-age`` of GET responses, in seconds; ``0`` makes clients
    revalidate every time (cheap: the ``ETag`` answers 304 when nothing changed)."""

    @model_validator(mode="before")
    @classmethod
    def _from_boolean(cls, value: Any) -> Any:
        # ``cache: false`` / ``cache: true`` as a short form.
        return {"enabled": value} if isinstance(value, bool) else value


class Resource(_Spec):
    """A collection of records served at ``/v1/{name}``."""

    fields: dict[str, AnyField] = Field(default_factory=dict)
    has_many: dict[str, HasMany] = Field(default_factory=dict)
    indexes: list[Index] = Field(default_factory=list)
    description: str | None = None
    require_if_match: bool = False
    """Writes must send ``If-Match`` (428 without it)."""
    page_size: PageSize = Field(default_factory=lambda: PageSize())
    """The default and largest ``limit`` of a list page."""
    access: dict[str, RoleGrant] | None = None
    """Role -> what it may do (see :mod:`bastion.blueprint.access`); none declared
    means open in development and admin-only in production."""
    tenant_scoped: bool = False
    """Every record belongs to the creator's tenant (a read-only ``tenant`` field),
    and every query is confined to the caller's tenant."""
    internal: bool = False
    """Bastion's own bookkeeping (tokens, keys): stored and migrated, never served."""
    cache: CacheSpec = Field(default_factory=lambda: CacheSpec())
    """Read caching of this resource's records and list pages (on by default)."""
    flag: str | None = None
    """A boolean feature flag (see ``flags``): while it is off for a caller, every
    endpoint of the resource answers 404 to them, as if it did not exist."""
    events: bool = True
    """Every create, update and delete appends an event to the audit/event log (in the
    same transaction) and publishes it through the outbox; ``false`` turns both off."""


class VersionChanges(_Spec):
    """How one resource looks in an API version, compared with the blueprint's fields."""

    renamed: dict[str, str] = Field(default_factory=dict)
    """Blueprint field name -> the name this version uses for it."""
    hidden: list[str] = Field(default_factory=list)
    """Blueprint fields this version neither shows nor accepts."""


class ApiVersion(_Spec):
    """One served API version (``/v1``, ``/v2``): all share the same stored records."""

    deprecated: date | bool = False
    """``true``, or the date it was deprecated: responses carry a ``Deprecation`` header."""
    sunset: date | None = None
    """The date it stops being served: responses carry a ``Sunset`` header."""
    resources: dict[str, VersionChanges] = Field(default_factory=dict)
    """Per resource, the renamed and hidden fields of this version."""


class Blueprint(_Spec):
    """A whole domain: its resources and the Python code that extends them."""

    version: Literal[1] = 1
    """The blueprint format version."""
    name: str = "bastion"
    """The service's name (used in the API title and exports)."""
    description: str | None = None
    resources: dict[str, Resource] = Field(default_factory=dict)
    hooks: str | None = None
    """Python code with lifecycle hooks: ``hooks.py`` (relative to the blueprint) or
    ``package.module``, with an optional ``:attribute`` (default ``hooks``)."""
    routes: str | None = None
    """Python code with extra routes, as for ``hooks`` (default attribute ``routes``)."""
    auth: AuthSpec = Field(default_factory=lambda: AuthSpec())
    """Roles, registration and MFA (see :mod:`bastion.blueprint.access`)."""
    api_versions: dict[str, ApiVersion] = Field(default_factory=dict)
    """The API versions served (``v1``, ``v2``, ...); none declared means just ``v1``,
    showing every field under its blueprint name."""
    flags: dict[str, FlagSpec] = Field(default_factory=dict)
    """Feature flags: name -> type, default and targeting rules (see
    :mod:`bastion.blueprint.flags`); admins change them at runtime."""
    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str | None:
        """The file this blueprint was read from, if any (set by the loader)."""
        return self._source

    def with_source(self, source: str) -> Blueprint:
        """A copy that remembers the file it was read from."""
        copy = self.model_copy()
        copy._source = source
        return copy

    def served_versions(self) -> dict[str, ApiVersion]:
        """The API versions to serve, oldest first (``{"v1": ApiVersion()}`` by default)."""
        if not self.api_versions:
            return {"v1": ApiVersion()}
        return dict(sorted(self.api_versions.items(), key=lambda item: int(item[0][1:] or 0)))

    def served_resources(self) -> dict[str, Resource]:
        """The resources the APIs serve (every one but Bastion's internal ones)."""
        return {name: r for name, r in self.resources.items() if not r.internal}

    def resource(self, name: str) -> Resource:
        """The resource called ``name`` (``KeyError`` if there is none)."""
        return self.resources[name]
