"""Python source laid out the way ``ruff format`` lays it out, for revision files.

Revision files are committed with the project, so they should pass its
formatter untouched. Alembic renders code in a style of its own (single
quotes, hanging indents); this module lays out again the small part of
Python a revision holds (calls, attributes, literals, ``with`` and ``if``
blocks) by ruff's rules, without needing ruff:

- strings in double quotes, unless that needs more escapes than single ones;
- a statement that fits in :data:`WIDTH` columns stays on one line;
- otherwise its last bracket opens: the contents go on one indented line if
  they fit there (call arguments only), else one item per line, each laid
  out the same way, with a trailing comma.

Anything else falls back to :func:`ast.unparse`.
"""

from __future__ import annotations

import ast
import textwrap
import unicodedata
from dataclasses import dataclass

__all__ = ["WIDTH", "format_assignment", "format_block"]

WIDTH = 100
"""The line length revision files are laid out for (the project's ruff setting)."""

_INDENT = 4
_COMPARE = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}


def format_block(source: str, *, indent: int) -> str:
    """The statements of ``source`` laid out as a block indented by ``indent`` spaces."""
    tree = ast.parse(textwrap.dedent(source))
    return "\n".join(_statements(tree.body, indent))


def format_assignment(name: str, value: object) -> str:
    """``name = <value>`` at module level, ``value`` being a literal (dicts, lists, strings...)."""
    expression = ast.parse(repr(value), mode="eval").body
    return "\n".join(_lines(expression, 0, f"{name} = ", ""))


def _statements(body: list[ast.stmt], indent: int) -> list[str]:
    lines: list[str] = []
    for position, statement in enumerate(body):
        lines += _statement(statement, indent)
        # One blank line after a block, as Alembic writes them (ruff keeps it).
        if isinstance(statement, ast.With | ast.If) and position < len(body) - 1:
            lines.append("")
    return lines


def _statement(statement: ast.stmt, indent: int) -> list[str]:
    pad = " " * indent
    match statement:
        case ast.Expr(value=value):
            return _lines(value, indent, "", "")
        case ast.Assign(targets=[target], value=value):
            return _lines(value, indent, f"{_flat(target)} = ", "")
        case ast.Pass():
            return [f"{pad}pass"]
        case ast.With(items=[item], body=body):
            alias = "" if item.optional_vars is None else f" as {_flat(item.optional_vars)}"
            header = _lines(item.context_expr, indent, "with ", f"{alias}:")
            return header + _statements(body, indent + _INDENT)
        case ast.If(test=test, body=body, orelse=orelse):
            lines = [f"{pad}if {_flat(test)}:", *_statements(body, indent + _INDENT)]
            if orelse:
                lines += [f"{pad}else:", *_statements(orelse, indent + _INDENT)]
            return lines
    return [pad + line for line in ast.unparse(statement).splitlines()]


@dataclass(frozen=True)
class _Brackets:
    """An expression opened at its last bracket."""

    opening: str
    items: list[tuple[str, ast.expr]]
    """Each item as ``(prefix, expression)``: ``("name=", value)``, ``('"key": ', value)``."""
    closing: str
    collection: bool
    """A list, tuple or dict literal: always one item per line once split."""


def _lines(expression: ast.expr, indent: int, prefix: str, suffix: str) -> list[str]:
    """``prefix + expression + suffix`` as lines starting at column ``indent``."""
    pad = " " * indent
    flat = f"{prefix}{_flat(expression)}{suffix}"
    if _fits(indent, flat):
        return [pad + flat]
    if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
        return _long_string(expression.value, indent, prefix, suffix) or [pad + flat]
    brackets = _brackets(expression)
    if brackets is None or not brackets.items:
        return [pad + flat]  # nothing to split at: ruff leaves it long too
    inner = indent + _INDENT
    items = brackets.items
    if not brackets.collection and len(items) == 1:
        body = _item(items[0], inner, "")
    else:
        hugged = ", ".join(item_prefix + _flat(value) for item_prefix, value in items)
        if not brackets.collection and _fits(inner, hugged):
            body = [" " * inner + hugged]
        else:
            body = [line for item in items for line in _item(item, inner, ",")]
    return [pad + prefix + brackets.opening, *body, pad + brackets.closing + suffix]


def _long_string(text: str, indent: int, prefix: str, suffix: str) -> list[str] | None:
    """A string too long for its line, in parentheses, split at spaces if it must be.

    ruff leaves such a string long (and ``ruff check`` then reports the line), but
    keeps the parentheses, and the pieces of an implicit concatenation unless they
    fit on one line together. ``None``: there is no space to split at.
    """
    inner = indent + _INDENT
    pieces = [text]
    if not _fits(inner, _string(text)):
        words = text.split(" ")
        if len(words) == 1:
            return None
        pieces = []
        for position, word in enumerate(words):
            # Every piece but the last keeps the space that follows it.
            end = "" if position == len(words) - 1 else " "
            if pieces and _fits(inner, _string(f"{pieces[-1]}{word}{end}")):
                pieces[-1] += word + end
            else:
                pieces.append(word + end)
    pad = " " * indent
    body = [" " * inner + _string(piece) for piece in pieces]
    return [f"{pad}{prefix}(", *body, f"{pad}){suffix}"]


def _item(item: tuple[str, ast.expr], indent: int, suffix: str) -> list[str]:
    prefix, value = item
    pad = " " * indent
    if isinstance(value, ast.IfExp) and not _fits(indent, prefix + _flat(value) + suffix):
        # ruff breaks a conditional expression before ``if`` and ``else``.
        return [
            f"{pad}{prefix}{_flat(value.body)}",
            f"{pad}if {_flat(value.test)}",
            f"{pad}else {_flat(value.orelse)}{suffix}",
        ]
    return _lines(value, indent, prefix, suffix)


def _brackets(expression: ast.expr) -> _Brackets | None:
    match expression:
        case ast.Call(func=func, args=args, keywords=keywords):
            items = [("", arg) for arg in args]
            items += [(_keyword_prefix(keyword), keyword.value) for keyword in keywords]
            return _Brackets(f"{_flat(func)}(", items, ")", collection=False)
        case ast.List(elts=elements):
            return _Brackets("[", [("", e) for e in elements], "]", collection=True)
        case ast.Tuple(elts=elements):
            return _Brackets("(", [("", e) for e in elements], ")", collection=True)
        case ast.Dict(keys=keys, values=values):
            items = [
                (f"{_flat(key)}: " if key is not None else "**", value)
                for key, value in zip(keys, values, strict=True)
            ]
            return _Brackets("{", items, "}", collection=True)
    return None


def _keyword_prefix(keyword: ast.keyword) -> str:
    return "**" if keyword.arg is None else f"{keyword.arg}="


def _flat(expression: ast.expr) -> str:
    """``expression`` on one line."""
    match expression:
        case ast.Constant(value=str() as text):
            return _string(text)
        case ast.Constant(value=value) if not isinstance(value, bytes):
            return repr(value)
        case ast.Name(id=name):
            return name
        case ast.Attribute(value=value, attr=attribute):
            return f"{_flat(value)}.{attribute}"
        case ast.Call(func=func, args=args, keywords=keywords):
            parts = [_flat(arg) for arg in args]
            parts += [_keyword_prefix(keyword) + _flat(keyword.value) for keyword in keywords]
            return f"{_flat(func)}({', '.join(parts)})"
        case ast.List(elts=elements):
            return f"[{', '.join(_flat(e) for e in elements)}]"
        case ast.Tuple(elts=elements):
            inside = ", ".join(_flat(e) for e in elements)
            return f"({inside},)" if len(elements) == 1 else f"({inside})"
        case ast.Dict(keys=keys, values=values):
            pairs = [
                f"{_flat(key)}: {_flat(value)}" if key is not None else f"**{_flat(value)}"
                for key, value in zip(keys, values, strict=True)
            ]
            return "{" + ", ".join(pairs) + "}"
        case ast.UnaryOp(op=ast.USub(), operand=ast.Constant() as operand):
            return f"-{_flat(operand)}"
        case ast.Compare(left=left, ops=operators, comparators=comparators) if all(
            type(operator) in _COMPARE for operator in operators
        ):
            text = _flat(left)
            for operator, right in zip(operators, comparators, strict=True):
                text += f" {_COMPARE[type(operator)]} {_flat(right)}"
            return text
        case ast.IfExp(test=test, body=body, orelse=orelse):
            return f"{_flat(body)} if {_flat(test)} else {_flat(orelse)}"
    return ast.unparse(expression)


def _string(text: str) -> str:
    """``text`` as a literal in the quotes ruff prefers: double, unless singles escape less."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    escaped = []
    for character in text:
        if character in ("\\", quote):
            escaped.append("\\" + character)
        elif character.isprintable():
            escaped.append(character)
        else:
            escaped.append(repr(character)[1:-1])
    return quote + "".join(escaped) + quote


def _fits(indent: int, text: str) -> bool:
    # Columns as ruff counts them: East Asian wide characters take two.
    width = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return indent + width <= WIDTH
