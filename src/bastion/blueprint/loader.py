"""Read a blueprint from YAML: parse, check the shape, check the meaning.

Loading goes in three steps, and every problem found is reported with the
file, the path inside it and its line:

1. The YAML is composed into a node tree (PyYAML's ``SafeLoader``), which
   gives the line of every key and item and catches duplicate keys, which
   PyYAML would otherwise silently let the last one win.
2. The data is validated by the pydantic models; each pydantic error is
   translated into a :class:`~bastion.blueprint.errors.BlueprintProblem`
   that says what to write instead.
3. The resulting blueprint is checked as a whole
   (:func:`~bastion.blueprint.validate.validate_blueprint`): references,
   cycles, reserved names, defaults.

Example:
    >>> blueprint = parse_blueprint("resources: {tags: {fields: {name: {type: string}}}}")
    >>> blueprint.resource("tags").fields["name"].type
    'string'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bastion.blueprint.errors import BlueprintInvalid, BlueprintProblem
from bastion.blueprint.model import Blueprint
from bastion.blueprint.pydantic_errors import problems_from_validation_error
from bastion.blueprint.validate import validate_blueprint

__all__ = ["load_blueprint", "parse_blueprint"]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_NOT_A_FILE = "<string>"


class _BlueprintYamlLoader(yaml.SafeLoader):
    """A safe loader that keeps dates and datetimes as the text written.

    Defaults like ``default: 2026-01-01`` then reach the model as the same JSON
    value a blueprint built in Python or read from JSON would carry.
    """


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_BlueprintYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def load_blueprint(path: str | Path) -> Blueprint:
    """Read, validate and return the blueprint in the YAML file at ``path``.

    Args:
        path: The blueprint file, usually ``bastion.yaml``.

    Returns:
        The blueprint, remembering ``path`` as its :attr:`~Blueprint.source`.

    Raises:
        BlueprintInvalid: The file is missing or unreadable, is not valid YAML,
            or describes an invalid blueprint; it lists every problem found.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _unreadable(
            source,
            f"there is no blueprint file at {source}",
            "run `bastion init` to create one, or give the path of your blueprint",
        ) from None
    except IsADirectoryError:
        raise _unreadable(
            source,
            f"{source} is a directory, not a blueprint file",
            f"give the path of the YAML file, e.g. {Path(source) / 'bastion.yaml'}",
        ) from None
    except UnicodeDecodeError as exc:
        raise _unreadable(
            source, f"the file is not UTF-8 text ({exc.reason})", "save it as UTF-8"
        ) from None
    except OSError as exc:
        raise _unreadable(
            source, f"cannot read the file: {exc.strerror}", "check its permissions"
        ) from None
    return parse_blueprint(text, source=source)


def parse_blueprint(text: str, *, source: str = _NOT_A_FILE) -> Blueprint:
    """Validate and return the blueprint written in YAML ``text``.

    Args:
        text: The YAML text of a blueprint.
        source: The file name to report problems under and to remember as the
            blueprint's :attr:`~Blueprint.source`; the default, ``"<string>"``,
            names no file, so the blueprint has no source and equals the same
            blueprint built in Python.

    Returns:
        The blueprint. Non-fatal problems (warnings) are not raised; call
        :func:`~bastion.blueprint.validate.validate_blueprint` to get them.

    Raises:
        BlueprintInvalid: The text is not valid YAML or describes an invalid
            blueprint; it lists every problem found, in the order of the file.
    """
    data, lines, problems = _read_yaml(text, source)
    try:
        blueprint = Blueprint.model_validate(data)
    except ValidationError as exc:
        problems += problems_from_validation_error(exc, data=data, source=source, lines=lines)
        raise BlueprintInvalid(_in_file_order(problems), source=source) from None
    try:
        validate_blueprint(blueprint, source=source, lines=lines)
    except BlueprintInvalid as exc:
        problems += exc.problems
    if problems:
        raise BlueprintInvalid(_in_file_order(problems), source=source)
    return blueprint if source == _NOT_A_FILE else blueprint.with_source(source)


def _read_yaml(text: str, source: str) -> tuple[Any, dict[str, int], list[BlueprintProblem]]:
    """The data in ``text``, the line of each path in it, and its duplicate keys."""
    loader = _BlueprintYamlLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise _unreadable(
                source,
                "the blueprint is empty",
                "write at least `version: 1` and `resources:` (see docs/blueprint.md)",
            )
        lines: dict[str, int] = {}
        problems: list[BlueprintProblem] = []
        _walk(root, "", lines, problems, source, set())
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        raise _invalid_yaml(exc, source) from None
    except yaml.YAMLError as exc:  # pragma: no cover - PyYAML marks its parse errors
        raise _unreadable(source, f"invalid YAML: {exc}", None) from None
    finally:
        loader.dispose()
    return data, lines, problems


def _walk(
    node: yaml.Node,
    path: str,
    lines: dict[str, int],
    problems: list[BlueprintProblem],
    source: str,
    seen: set[int],
) -> None:
    """Record the line of every key and item under ``node`` and report duplicate keys."""
    lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in seen:  # an alias: its keys were recorded where the anchor is
        return
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, _join(path, str(index)), lines, problems, source, seen)
    elif isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        merged: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.append(value_node)
                continue
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            line = key_node.start_mark.line + 1
            if key in first_line:
                problems.append(_duplicate_key(path, key, first_line[key], line, source))
                continue
            first_line[key] = line
            lines[_join(path, key)] = line
            _walk(value_node, _join(path, key), lines, problems, source, seen)
        for value_node in merged:
            # ``<<: *defaults`` adds keys to this mapping; explicit keys win, as in YAML.
            bases = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for base in bases:
                if isinstance(base, yaml.MappingNode):
                    for key_node, base_value in base.value:
                        key_path = _join(path, str(key_node.value))
                        lines.setdefault(key_path, key_node.start_mark.line + 1)
                        _walk(base_value, key_path, lines, problems, source, seen)


def _duplicate_key(path: str, key: str, first: int, again: int, source: str) -> BlueprintProblem:
    container = path.rsplit(".", 1)[-1]
    what = {"resources": "resource", "fields": "field", "has_many": "relation"}.get(container)
    declared = f"{what} '{key}' is declared twice" if what else f"key '{key}' appears twice"
    return BlueprintProblem(
        file=source,
        path=_join(path, key),
        line=again,
        message=f"{declared}, on lines {first} and {again}",
        hint="keep one of them: rename or remove the other",
    )


def _invalid_yaml(exc: yaml.MarkedYAMLError, source: str) -> BlueprintInvalid:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "cannot be parsed"
    message = f"invalid YAML: {problem}"
    if exc.context:
        message = f"{message} ({exc.context})"
    return BlueprintInvalid(
        [
            BlueprintProblem(
                file=source,
                path="",
                line=mark.line + 1 if mark else None,
                message=message,
                hint=_yaml_hint(problem, exc.context or ""),
            )
        ],
        source=source,
    )


def _yaml_hint(problem: str, context: str) -> str:
    if "'\\t'" in problem:
        return "indent with spaces: YAML does not allow tabs"
    if "mapping values are not allowed" in problem:
        return "put each key on its own line, and quote a value that contains ': '"
    if "another document" in problem:
        return "keep one document in the file: remove the second '---'"
    if "undefined alias" in problem:
        return "define the anchor (&name) before using the alias (*name)"
    if "quoted scalar" in context:
        return "close the quote that opens here"
    if "flow" in context:
        return "close the bracket or brace that opens here"
    return "check the indentation and the quoting on this line and the one before it"


def _unreadable(source: str, message: str, hint: str | None) -> BlueprintInvalid:
    return BlueprintInvalid(
        [BlueprintProblem(file=source, path="", line=None, message=message, hint=hint)],
        source=source,
    )


def _in_file_order(problems: list[BlueprintProblem]) -> list[BlueprintProblem]:
    return sorted(problems, key=lambda problem: problem.line or 0)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
