"""API versions: how one version names and shows the stored fields.

Every version is served from the same records. A :class:`VersionView`
translates between a version's field names and the blueprint's: request
bodies and query parameters on the way in, records and error pointers on the
way out. The core never knows which version a request came through.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from typing import Any

from bastion.blueprint import ApiVersion, Blueprint
from bastion.core import BastionError, FieldError, InvalidInput

__all__ = ["VersionView", "version_views"]


class _ResourceNames:
    """Field names of one resource in one version."""

    __slots__ = ("hidden", "to_public", "to_storage")

    def __init__(self, renamed: dict[str, str], hidden: list[str]) -> None:
        self.to_public = dict(renamed)
        self.to_storage = {public: stored for stored, public in renamed.items()}
        self.hidden = frozenset(hidden)


def _http_date(day: date) -> str:
    return format_datetime(datetime.combine(day, time(), tzinfo=UTC), usegmt=True)


class VersionView:
    """One API version's names for fields, and the headers it adds to responses.

    Hot path: a version that renames nothing returns records unchanged.
    """

    def __init__(self, name: str, spec: ApiVersion, blueprint: Blueprint) -> None:
        self.name = name
        self.prefix = f"/{name}"
        self._resources = {
            resource: _ResourceNames(changes.renamed, changes.hidden)
            for resource, changes in spec.resources.items()
            if changes.renamed or changes.hidden
        }
        self.headers: dict[str, str] = {}
        if spec.deprecated:
            if isinstance(spec.deprecated, date):
                # RFC 9745: the moment of deprecation as a structured-field date.
                moment = datetime.combine(spec.deprecated, time(), tzinfo=UTC)
                self.headers["Deprecation"] = f"@{int(moment.timestamp())}"
            else:
                self.headers["Deprecation"] = "@0"
        if spec.sunset is not None:
            self.headers["Sunset"] = _http_date(spec.sunset)  # RFC 8594

    @property
    def is_identity(self) -> bool:
        """Whether this version shows every resource exactly as stored."""
        return not self._resources

    def public_name(self, resource: str, field: str) -> str:
        """The name this version uses for a stored field."""
        names = self._resources.get(resource)
        return field if names is None else names.to_public.get(field, field)

    def storage_name(self, resource: str, field: str) -> str:
        """The stored field a name of this version stands for.

        Raises:
            InvalidInput: for a field this version hides (it does not exist here).
        """
        names = self._resources.get(resource)
        if names is None:
            return field
        if field in names.hidden or (field in names.to_public and field not in names.to_storage):
            raise InvalidInput(
                f"{resource} has no field {field!r} in {self.name}",
                errors=(FieldError(f"/{field}", f"is not a field of {resource} in {self.name}"),),
            )
        return names.to_storage.get(field, field)

    def record_out(self, resource: str, record: dict[str, Any]) -> dict[str, Any]:
        """A stored record as this version shows it."""
        names = self._resources.get(resource)
        if names is None:
            return record
        return {
            names.to_public.get(key, key): value
            for key, value in record.items()
            if key not in names.hidden
        }

    def body_in(self, resource: str, body: Any) -> Any:
        """A request body with this version's names turned into stored names."""
        names = self._resources.get(resource)
        if names is None or not isinstance(body, dict):
            return body
        errors = [
            FieldError(f"/{key}", f"is not a field of {resource} in {self.name}")
            for key in body
            if key in names.hidden or (key in names.to_public and key not in names.to_storage)
        ]
        if errors:
            raise InvalidInput(
                f"the body does not fit {resource} in {self.name}", errors=tuple(errors)
            )
        return {names.to_storage.get(key, key): value for key, value in body.items()}

    def error_out(self, resource: str, error: BastionError) -> BastionError:
        """``error`` with its field pointers in this version's names."""
        names = self._resources.get(resource)
        if names is None or not error.errors:
            return error
        renamed = []
        for item in error.errors:
            head, _, rest = item.pointer.lstrip("/").partition("/")
            public = names.to_public.get(head, head)
            pointer = "/" + public + ("/" + rest if rest else "") if item.pointer else ""
            renamed.append(FieldError(pointer, item.detail))
        error.errors = tuple(renamed)
        return error


def version_views(blueprint: Blueprint) -> list[VersionView]:
    """A view for every served version, oldest first."""
    return [
        VersionView(name, spec, blueprint) for name, spec in blueprint.served_versions().items()
    ]
