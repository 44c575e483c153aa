"""What each served API version shows of each resource: the names the document uses.

A version may rename or hide a resource's fields (``api_versions`` in the
blueprint). The document describes every version; resources a version
leaves as they are share one set of component schemas across versions.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.blueprint import AnyField, ApiVersion, BelongsTo, Blueprint, Resource

__all__ = ["ApiView", "ResourceView", "api_views", "schema_base_name"]


def schema_base_name(resource: str) -> str:
    """The component name of a resource: ``order_items`` -> ``OrderItems``."""
    return "".join(part[:1].upper() + part[1:] for part in resource.split("_") if part)


@dataclass(frozen=True, slots=True)
class ResourceView:
    """One resource as one API version shows it.

    Attributes:
        name: the resource's name (its URL segment).
        resource: the blueprint's resource.
        fields: the fields this version shows, under the names it uses.
        schema_name: the base name of its component schemas (``Customers``, or
            ``CustomersV2`` where this version renames or hides fields).
    """

    name: str
    resource: Resource
    fields: dict[str, AnyField]
    schema_name: str

    @property
    def readable(self) -> dict[str, AnyField]:
        """Fields served in records (write-only ones are never served)."""
        return {name: field for name, field in self.fields.items() if not field.write_only}

    @property
    def writable(self) -> dict[str, AnyField]:
        """Fields clients may write (read-only ones are set by the server)."""
        return {name: field for name, field in self.fields.items() if not field.read_only}

    @property
    def references(self) -> dict[str, BelongsTo]:
        """The ``belongs_to`` fields served, by the name this version uses."""
        return {
            name: field for name, field in self.readable.items() if isinstance(field, BelongsTo)
        }


@dataclass(frozen=True, slots=True)
class ApiView:
    """One served API version: its path prefix and its view of every resource."""

    name: str
    spec: ApiVersion
    resources: dict[str, ResourceView]

    @property
    def prefix(self) -> str:
        """The path every endpoint of this version starts with (``/v1``)."""
        return f"/{self.name}"

    @property
    def deprecated(self) -> bool:
        """Whether clients should move to a newer version."""
        return bool(self.spec.deprecated)

    @property
    def operation_suffix(self) -> str:
        """Added to operation ids so they stay unique: none for ``v1``, ``_v2`` after."""
        return "" if self.name == "v1" else f"_{self.name}"


def _resource_view(version: str, spec: ApiVersion, name: str, resource: Resource) -> ResourceView:
    changes = spec.resources.get(name)
    base = schema_base_name(name)
    if changes is None or not (changes.renamed or changes.hidden):
        return ResourceView(name, resource, dict(resource.fields), base)
    fields = {
        changes.renamed.get(field_name, field_name): field
        for field_name, field in resource.fields.items()
        if field_name not in changes.hidden
    }
    return ResourceView(name, resource, fields, f"{base}{version.upper()}")


def api_views(blueprint: Blueprint) -> list[ApiView]:
    """A view of every served version, oldest first."""
    views = []
    for version, spec in blueprint.served_versions().items():
        resources = {
            name: _resource_view(version, spec, name, resource)
            for name, resource in blueprint.served_resources().items()
        }
        views.append(ApiView(version, spec, resources))
    return views
