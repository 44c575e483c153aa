"""Loading the project's own Python code named by the blueprint (hooks, routes)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from bastion.blueprint import Blueprint, BlueprintInvalid, BlueprintProblem

__all__ = ["load_reference"]


def _problem(blueprint: Blueprint, key: str, message: str, hint: str) -> BlueprintInvalid:
    return BlueprintInvalid(
        [BlueprintProblem(file=blueprint.source, path=key, line=None, message=message, hint=hint)]
    )


def _module_from_file(path: Path) -> ModuleType:
    # A stable name (not ``hash()``, which differs per process): names derived from it,
    # such as a consumer's default name, must be the same in every worker and restart.
    digest = hashlib.blake2b(str(path.resolve()).encode(), digest_size=6).hexdigest()
    name = f"bastion_project_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    # Let the project's modules import their siblings (e.g. `from models import ...`).
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def load_reference(blueprint: Blueprint, key: str, default_attribute: str) -> Any:
    """The object a blueprint key such as ``hooks: hooks.py:hooks`` names, or ``None``.

    ``path.py`` is resolved against the blueprint's folder; anything else is
    imported as a dotted module name. The attribute after ``:`` defaults to
    ``default_attribute``.
    """
    reference: str | None = getattr(blueprint, key)
    if not reference:
        return None
    target, _, attribute = reference.partition(":")
    attribute = attribute or default_attribute
    try:
        if target.endswith(".py"):
            base = Path(blueprint.source).parent if blueprint.source else Path.cwd()
            path = (base / target).resolve()
            if not path.is_file():
                raise _problem(
                    blueprint,
                    key,
                    f"the file {target!r} does not exist (looked at {path})",
                    f"create it, or write the path relative to the blueprint, e.g. {key}: {key}.py",
                )
            module = _module_from_file(path)
        else:
            module = importlib.import_module(target)
    except ImportError as exc:
        raise _problem(
            blueprint,
            key,
            f"cannot import {target!r}: {exc}",
            f"write a file path ending in .py or an importable module, e.g. {key}: {key}.py",
        ) from exc
    if not hasattr(module, attribute):
        raise _problem(
            blueprint,
            key,
            f"{target!r} has no attribute {attribute!r}",
            f"define `{attribute}` in it, or name another attribute: {key}: {target}:<name>",
        )
    return getattr(module, attribute)
