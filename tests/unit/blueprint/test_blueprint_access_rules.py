"""Access rules in the blueprint: bad ones name the path and the fix; good ones parse."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.blueprint import (
    BlueprintInvalid,
    access_warnings,
    parse_blueprint,
    with_identity,
)
from bastion.blueprint.access import RoleGrant
from bastion.blueprint.identity import IDENTITY_RESOURCES
from bastion.cli import app as cli

HEAD = "version: 1\nauth: {roles: [member]}\nresources:\n"


def problems_of(resources_yaml: str, head: str = HEAD) -> list[tuple[str, str]]:
    with pytest.raises(BlueprintInvalid) as caught:
        parse_blueprint(head + resources_yaml, source="bastion.yaml")
    return [(p.path, p.hint) for p in caught.value.problems]


def test_a_grant_may_be_a_list_all_or_a_mapping() -> None:
    blueprint = parse_blueprint(
        HEAD
        + "  notes:\n"
        + "    fields:\n"
        + "      author: {type: belongs_to, resource: users, owner: true}\n"
        + "    access:\n"
        + "      anyone: [list, read]\n"
        + "      member: {actions: all, rows: own}\n"
        + "      authenticated: all\n"
    )
    access = blueprint.resources["notes"].access
    assert access == {
        "anyone": RoleGrant(actions=["list", "read"]),
        "member": RoleGrant(actions="all", rows="own"),
        "authenticated": RoleGrant(actions="all"),
    }
    assert access["anyone"].allows("read")
    assert not access["anyone"].allows("delete")


def test_an_undeclared_role_is_named_with_the_close_match() -> None:
    found = problems_of("  notes:\n    fields: {title: {type: string}}\n    access: {membr: all}\n")
    assert found == [("resources.notes.access.membr", "write member")]


def test_admin_is_never_named_in_rules() -> None:
    found = problems_of("  notes:\n    fields: {title: {type: string}}\n    access: {admin: all}\n")
    assert found == [("resources.notes.access.admin", "remove 'admin'")]


def test_rows_own_needs_an_owner_field() -> None:
    found = problems_of(
        "  notes:\n    fields: {title: {type: string}}\n"
        "    access: {member: {actions: all, rows: own}}\n"
    )
    assert found[0][0] == "resources.notes.access.member.rows"
    assert "owner: true" in found[0][1]


def test_an_owner_field_must_refer_to_users() -> None:
    found = problems_of(
        "  teams: {fields: {name: {type: string}}}\n"
        "  notes:\n    fields: {team: {type: belongs_to, resource: teams, owner: true}}\n"
    )
    assert found == [
        ("resources.notes.fields.team.owner", "write resource: users, or remove owner")
    ]


def test_field_rules_name_declared_roles() -> None:
    found = problems_of("  notes:\n    fields: {secret: {type: string, hidden_from: [staff]}}\n")
    assert found[0][0] == "resources.notes.fields.secret.hidden_from.0"


def test_a_tenant_scoped_resource_may_not_declare_its_own_tenant_field() -> None:
    found = problems_of(
        "  projects:\n    tenant_scoped: true\n    fields: {tenant: {type: string}}\n"
    )
    assert found[0][0] == "resources.projects.fields.tenant"


def test_users_may_be_extended_but_not_redeclared() -> None:
    found = problems_of("  users:\n    fields: {email: {type: string}, bio: {type: text}}\n")
    assert found == [
        (
            "resources.users.fields.email",
            "remove it, or give yours another name (e.g. profile_email)",
        )
    ]
    extended = with_identity(parse_blueprint(HEAD + "  users:\n    fields: {bio: {type: text}}\n"))
    assert {"email", "roles", "tenant", "bio"} <= set(extended.resources["users"].fields)


def test_identity_resources_are_added_once_and_internal_ones_are_not_served() -> None:
    blueprint = with_identity(parse_blueprint(HEAD + "  notes: {fields: {t: {type: string}}}\n"))
    assert set(IDENTITY_RESOURCES) <= set(blueprint.resources)
    assert with_identity(blueprint) is blueprint
    served = blueprint.served_resources()
    assert "users" in served
    assert "tenants" in served
    assert not any(name.startswith("bastion_") for name in served)


def test_a_tenant_scoped_resource_gets_a_read_only_tenant_field() -> None:
    blueprint = with_identity(
        parse_blueprint(
            HEAD + "  projects:\n    tenant_scoped: true\n    fields: {n: {type: string}}\n"
        )
    )
    tenant = blueprint.resources["projects"].fields["tenant"]
    assert tenant.type == "belongs_to"
    assert tenant.read_only


def test_resources_without_rules_are_warned_about() -> None:
    blueprint = parse_blueprint(
        HEAD
        + "  open_notes: {fields: {t: {type: string}}}\n"
        + "  closed_notes: {fields: {t: {type: string}}, access: {member: all}}\n"
    )
    assert [path for path, _, _ in access_warnings(with_identity(blueprint))] == [
        "resources.open_notes"
    ]


def test_bastion_check_prints_the_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bastion.yaml").write_text(HEAD + "  notes: {fields: {t: {type: string}}}\n")
    result = CliRunner().invoke(cli, ["check", "bastion.yaml"])
    assert result.exit_code == 0, result.output
    assert "resources.notes: no access rules" in result.output
    assert "admin-only in production" in result.output
