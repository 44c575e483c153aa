"""The ``flags`` section: what a bad flag (or a bad reference to one) is refused with.

Every problem names the file, the line, the path inside the blueprint and what
to write instead; an admin's override is checked by the same rules and
answered with JSON pointers.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from bastion.blueprint import BlueprintInvalid, parse_blueprint
from bastion.blueprint.flags import FlagSpec
from bastion.core.errors import InvalidInput
from bastion.core.flags import parse_override

DOCS = Path(__file__).parents[3] / "docs" / "blueprint.md"
ROLES = {"admin", "authenticated", "staff"}


def problems(text: str) -> list[str]:
    with pytest.raises(BlueprintInvalid) as caught:
        parse_blueprint(textwrap.dedent(text), source="bastion.yaml")
    return [str(problem) for problem in caught.value.problems]


def only(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def test_a_valid_flags_section_loads() -> None:
    blueprint = parse_blueprint(
        textwrap.dedent(
            """
            auth: {roles: [staff]}
            flags:
              new_checkout:
                type: boolean
                default: false
                rules:
                  - {roles: [staff], value: true}
                  - {percentage: 12.5, value: true}
              theme:
                type: string
                default: classic
                variants: [classic, dark]
                rules: [{tenants: [acme], value: dark}]
              max_items: {type: number, default: 10, rules: [{users: [u1], value: 2.5}]}
            resources:
              coupons:
                flag: new_checkout
                fields:
                  code: {type: string, flag: new_checkout}
            """
        )
    )
    assert blueprint.resources["coupons"].flag == "new_checkout"
    assert blueprint.resources["coupons"].fields["code"].flag == "new_checkout"
    assert blueprint.flags["new_checkout"].rules[1].percentage == 12.5


def test_a_resource_behind_an_undeclared_flag_is_refused_with_the_closest_name() -> None:
    problem = only(
        """
        flags: {new_checkout: {type: boolean, default: false}}
        resources:
          coupons:
            flag: new_chekout
            fields: {code: {type: string}}
        """
    )
    assert problem == (
        "bastion.yaml:5: resources.coupons.flag: flag 'new_chekout' is not declared. "
        "Flags: new_checkout — write flag: new_checkout"
    )


def test_a_field_behind_an_undeclared_flag_says_how_to_declare_it() -> None:
    problem = only(
        """
        resources:
          coupons:
            fields: {code: {type: string, flag: express}}
        """
    )
    assert problem.startswith("bastion.yaml:4: resources.coupons.fields.code.flag: ")
    assert "flag 'express' is not declared. Flags: none" in problem
    assert "declare it under flags: {express: {type: boolean, default: false}}" in problem


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ("resource", "resources.coupons.flag"),
        ("field", "resources.coupons.fields.code.flag"),
    ],
)
def test_only_boolean_flags_can_hide_resources_and_fields(where: str, path: str) -> None:
    on_resource = "flag: theme" if where == "resource" else ""
    on_field = ", flag: theme" if where == "field" else ""
    problem = only(
        f"""
        flags: {{theme: {{type: string, default: classic}}}}
        resources:
          coupons:
            {on_resource}
            fields: {{code: {{type: string{on_field}}}}}
        """
    )
    assert f"{path}: a {where} can only be behind a boolean flag; 'theme' is a string flag" in (
        problem
    )


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        (
            "{type: boolean, default: 0}",
            "flags.f.default: the default 0 is not true or false (type: boolean) — "
            "write true or false",
        ),
        (
            "{type: string, default: 3}",
            'flags.f.default: the default 3 is not text (type: string) — quote it: "3"',
        ),
        (
            "{type: number, default: 'ten'}",
            "flags.f.default: the default 'ten' is not a number (type: number) — "
            "write a number, e.g. 10 or 0.5",
        ),
        (
            "{type: string, default: blue, variants: [red, green]}",
            "flags.f.default: the default 'blue' is not one of the variants: red, green "
            "(type: string) — write one of them, or add 'blue' to variants",
        ),
    ],
)
def test_a_default_of_the_wrong_type_is_refused(declaration: str, message: str) -> None:
    assert only(f"flags:\n  f: {declaration}\n") == f"bastion.yaml:2: {message}"


def test_rule_problems_point_at_the_rule_and_key() -> None:
    found = problems(
        """
        auth: {roles: [staff]}
        flags:
          theme:
            type: string
            default: classic
            variants: [classic, dark]
            rules:
              - {percentage: 150, value: dark}
              - {roles: [staf], value: dark}
              - {users: [u1], value: light}
              - {value: dark}
              - {roles: [anyone], value: dark}
              - {tenants: [], value: dark}
        """
    )
    assert found == [
        "bastion.yaml:9: flags.theme.rules.0.percentage: percentage 150 is out of range: it "
        "is a share of callers, 0 to 100 — write percentage: 100",
        "bastion.yaml:10: flags.theme.rules.1.roles.0: role 'staf' is not declared. Roles: "
        "admin, authenticated, staff — write staff",
        "bastion.yaml:11: flags.theme.rules.2.value: the value 'light' is not one of the "
        "variants: classic, dark — write one of them, or add 'light' to variants",
        "bastion.yaml:12: flags.theme.rules.3: the rule names no condition, so it matches "
        "every caller — add roles, tenants, users or percentage; or write its value as the "
        "flag's default",
        "bastion.yaml:13: flags.theme.rules.4.roles.0: 'anyone' matches every caller — remove "
        "the rule and write its value as the flag's default",
        "bastion.yaml:14: flags.theme.rules.5.tenants: an empty tenants list matches nobody — "
        "list some tenants, or remove tenants",
    ]


def test_negative_percentages_and_variants_on_other_types_are_refused() -> None:
    found = problems(
        """
        flags:
          beta:
            type: boolean
            default: false
            variants: [enabled, disabled]
            rules: [{percentage: -5, value: true}]
        """
    )
    assert any(
        "flags.beta.variants: variants list the values of string flags; this flag is a boolean" in p
        for p in found
    )
    assert any("flags.beta.rules.0.percentage: percentage -5 is out of range" in p for p in found)


def test_a_percentage_must_be_a_number() -> None:
    problem = only(
        "flags:\n  b: {type: boolean, default: false, rules: [{percentage: '5', value: true}]}\n"
    )
    assert problem == (
        "bastion.yaml:2: flags.b.rules.0.percentage: expected a number, got '5' — "
        "write e.g. percentage: 0.5"
    )


def test_flag_names_are_snake_case() -> None:
    assert "flag name 'New-Checkout' is not a lowercase snake_case identifier" in only(
        "flags:\n  New-Checkout: {type: boolean, default: false}\n"
    )


def test_unknown_keys_of_a_flag_get_the_closest_key() -> None:
    assert "did you mean 'default'" in only(
        "flags:\n  beta: {type: boolean, default: false, defualt: true}\n"
    )


# Overrides (the admin API) are checked by the same rules ---------------------------


SPEC = FlagSpec.model_validate(
    {"type": "string", "default": "classic", "variants": ["classic", "dark"]}
)


def override_errors(body: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as caught:
        parse_override(SPEC, body, roles=ROLES)
    return [(error.pointer, error.detail) for error in caught.value.errors]


def test_a_valid_override_keeps_what_it_leaves_out() -> None:
    override = parse_override(SPEC, {"rules": [{"roles": ["staff"], "value": "dark"}]}, roles=ROLES)
    assert override.default is None
    assert override.rules is not None
    assert override.rules[0].value == "dark"
    assert override.enabled is True
    assert parse_override(SPEC, {"enabled": False}, roles=ROLES).enabled is False


def test_an_override_breaking_the_rules_points_at_each_problem() -> None:
    assert override_errors(
        {
            "default": "light",
            "rules": [{"percentage": 101, "value": "dark"}, {"roles": ["root"], "value": 1}],
        }
    ) == [
        (
            "/default",
            "the default 'light' is not one of the variants: classic, dark (string flag) — "
            "write one of them, or add 'light' to variants",
        ),
        (
            "/rules/0/percentage",
            "percentage 101 is out of range: it is a share of callers, 0 to 100 — "
            "write percentage: 100",
        ),
        (
            "/rules/1/roles/0",
            "role 'root' is not declared. Roles: admin, authenticated, staff — "
            "declare it under auth.roles: {root: {}}",
        ),
        ("/rules/1/value", 'the value 1 is not text — quote it: "1"'),
    ]


def test_an_override_of_the_wrong_shape_is_refused() -> None:
    assert override_errors({"defualt": "dark"})[0][0] == "/defualt"
    assert override_errors({"enabled": "no"})[0][0] == "/enabled"
    assert override_errors({"rules": [{"roles": ["staff"]}]})[0][0] == "/rules/0/value"
    assert override_errors([]) == [("", "must be an object")]
    assert override_errors({}) == [("", "give default, rules or enabled")]


# The documentation ---------------------------------------------------------------


def test_the_flags_example_in_the_docs_loads() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    example = next(block for block in blocks if block.startswith("flags:"))
    blueprint = parse_blueprint(example, source="docs/blueprint.md")
    assert blueprint.flags
    assert any(resource.flag for resource in blueprint.resources.values())
