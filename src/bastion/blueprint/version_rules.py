"""Checks of the ``api_versions`` section: names, resources and fields it refers to."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bastion.blueprint.model import QUERY_PARAMETERS, SYSTEM_FIELDS, Blueprint

__all__ = ["version_problems"]

_VERSION_NAME = re.compile(r"^v[1-9][0-9]{0,2}$")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

Problem = tuple[str, str, str]
"""(path, message, hint)"""


def version_problems(blueprint: Blueprint) -> Iterator[Problem]:
    """Every mistake in ``api_versions``, as (path, message, hint)."""
    for version, spec in blueprint.api_versions.items():
        path = f"api_versions.{version}"
        if not _VERSION_NAME.match(version):
            yield (
                path,
                f"'{version}' is not a version name: versions are served at /{version}/...",
                "name versions v1, v2, v3, ...",
            )
        for resource_name, changes in spec.resources.items():
            resource_path = f"{path}.resources.{resource_name}"
            resource = blueprint.resources.get(resource_name)
            if resource is None:
                yield (
                    resource_path,
                    f"there is no resource '{resource_name}'",
                    f"write one of: {', '.join(blueprint.resources) or '(none)'}",
                )
                continue
            known = ", ".join(resource.fields)
            for field in [*changes.renamed, *changes.hidden]:
                if field not in resource.fields:
                    yield (
                        resource_path,
                        f"'{field}' is not a field of {resource_name}",
                        f"name a field of the blueprint: {known}",
                    )
            shown = [f for f in resource.fields if f not in changes.hidden]
            public = [changes.renamed.get(f, f) for f in shown]
            for old, new in changes.renamed.items():
                where = f"{resource_path}.renamed.{old}"
                if not _FIELD_NAME.match(new):
                    yield where, f"'{new}' is not a valid field name", "use lower_snake_case"
                elif new in SYSTEM_FIELDS or new in QUERY_PARAMETERS:
                    yield where, f"'{new}' is reserved", "choose another name"
                elif public.count(new) > 1:
                    yield (
                        where,
                        f"two fields would be called '{new}' in {version}",
                        ("rename or hide the other one in this version"),
                    )
                if old in changes.hidden:
                    yield where, f"'{old}' is both renamed and hidden", "keep one of the two"
