"""What is wrong with a blueprint, said so a person can fix it.

Every problem names the file, the path inside it (``resources.orders.fields.total.type``),
the line when the blueprint came from a file, what is wrong, and what to write
instead::

    bastion.yaml:12: resources.orders.fields.total.type: unknown type 'money'. Known
    types: string, text, ... — write one of these, e.g. type: decimal

:class:`BlueprintInvalid` carries all the fatal problems found at once, so one
run of ``bastion check`` shows everything to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["BlueprintInvalid", "BlueprintProblem", "line_of"]


@dataclass(frozen=True)
class BlueprintProblem:
    """One thing wrong with (or, for warnings, doubtful in) a blueprint.

    Example:
        >>> str(BlueprintProblem(file="bastion.yaml", path="resources.tags", line=3,
        ...                      message="the resource has no fields", hint="add fields"))
        'bastion.yaml:3: resources.tags: the resource has no fields — add fields'
    """

    file: str | None
    """The blueprint file, or ``None`` for a blueprint built in Python."""
    path: str
    """Where in the blueprint, as dotted keys: ``resources.orders.fields.total.type``."""
    line: int | None
    """The 1-based line of ``path`` in ``file``, when known."""
    message: str
    """What is wrong."""
    hint: str | None = None
    """What to write instead."""

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.hint:
            text = f"{text} — {self.hint}"
        if self.file is None:
            return text
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {text}"


class BlueprintInvalid(Exception):
    """The blueprint cannot be served: it carries every fatal problem found.

    Attributes:
        code: The stable error code, ``blueprint_invalid``.
        problems: Every fatal problem, in the order of the file.
        source: The blueprint file, when there is one.
    """

    code = "blueprint_invalid"

    def __init__(self, problems: Iterable[BlueprintProblem], *, source: str | None = None) -> None:
        """Collect ``problems`` (at least one) found in the blueprint read from ``source``."""
        self.problems: list[BlueprintProblem] = list(problems)
        self.source = source if source is not None else _first_file(self.problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        summary = f"{count} {noun} in the blueprint:"
        if self.source:
            summary = f"{self.source}: {summary}"
        return "\n".join([summary, *(f"  {problem}" for problem in self.problems)])


def line_of(path: str, lines: Mapping[str, int] | None) -> int | None:
    """The line of ``path``, or of its nearest ancestor that has one.

    A path to a key the blueprint lacks (``resources.orders.fields.status.values``)
    takes the line of the nearest key that is there (``...fields.status``).
    """
    if not lines:
        return None
    parts = path.split(".") if path else []
    while parts:
        line = lines.get(".".join(parts))
        if line is not None:
            return line
        parts.pop()
    return lines.get("")


def _first_file(problems: Iterable[BlueprintProblem]) -> str | None:
    return next((problem.file for problem in problems if problem.file), None)
