"""The document states how to authenticate, and what each operation requires."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from bastion.api.rest.openapi import build_openapi
from bastion.blueprint import AuthSpec, Blueprint, Resource, RoleGrant, StringField, with_identity

Document = dict[str, Any]
READ_METHODS = {"get"}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def _blueprint() -> Blueprint:
    posts = Resource(
        fields={"title": StringField(required=True)},
        access={"anyone": RoleGrant(actions=["list", "read"]), "editor": RoleGrant()},
    )
    drafts = Resource(fields={"title": StringField()}, access={"editor": RoleGrant()})
    auth = AuthSpec.model_validate({"roles": ["editor"]})
    return Blueprint(name="blog", resources={"posts": posts, "drafts": drafts}, auth=auth)


@pytest.fixture(scope="module")
def document() -> Document:
    return build_openapi(with_identity(_blueprint()))


def test_the_document_with_identity_is_valid_openapi_3_1(document: Document) -> None:
    validate(document)


def test_bearer_tokens_api_keys_and_oauth2_flows_are_declared(document: Document) -> None:
    schemes = document["components"]["securitySchemes"]

    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["bearerAuth"]["bearerFormat"] == "JWT"
    assert (schemes["apiKey"]["type"], schemes["apiKey"]["scheme"]) == ("http", "bearer")
    assert "bst_" in schemes["apiKey"]["description"]
    flows = schemes["oauth2"]["flows"]
    assert flows["password"]["tokenUrl"] == "/v1/auth/token"
    assert flows["clientCredentials"]["tokenUrl"] == "/v1/auth/token"
    assert set(flows["password"]["scopes"]) == {
        "*",
        "posts:read",
        "posts:write",
        "drafts:read",
        "drafts:write",
        "users:read",
        "users:write",
        "tenants:read",
        "tenants:write",
    }


def _resource_operations(document: Document) -> list[tuple[str, str, str, Document]]:
    found = []
    for path, item in document["paths"].items():
        resource = path.split("/")[2].split(":")[0]
        if path.startswith(("/v1/auth", "/v1/admin", "/.well-known")):
            continue
        for method, operation in item.items():
            if method != "parameters":
                found.append((resource, path, method, operation))
    return found


def test_each_resource_operation_needs_the_scope_of_its_access(document: Document) -> None:
    operations = _resource_operations(document)

    assert len(operations) == 4 * 8  # posts, drafts, users, tenants
    for resource, path, method, operation in operations:
        needed = f"{resource}:{'read' if method in READ_METHODS else 'write'}"
        requirements = [r for r in operation["security"] if r]
        assert requirements == [
            {"bearerAuth": [needed]},
            {"apiKey": [needed]},
            {"oauth2": [needed]},
        ], (
            path,
            method,
        )
        assert {"401", "403"} <= set(operation["responses"]), (path, method)


def test_only_what_anyone_may_do_can_be_called_without_credentials(document: Document) -> None:
    optional = {
        (path, method)
        for _, path, method, operation in _resource_operations(document)
        if {} in operation["security"]
    }

    assert optional == {
        ("/v1/posts", "get"),
        ("/v1/posts:aggregate", "get"),
        ("/v1/posts/{id}", "get"),
    }


def test_the_identity_endpoints_are_documented(document: Document) -> None:
    paths = document["paths"]

    assert {
        "/v1/auth/register",
        "/v1/auth/token",
        "/v1/auth/revoke",
        "/v1/auth/me",
        "/.well-known/jwks.json",
        "/v1/auth/api-keys",
        "/v1/auth/api-keys/{id}",
        "/v1/admin/users",
        "/v1/admin/users/{id}",
        "/v1/admin/service-accounts",
        "/v1/admin/invitations",
        "/v1/admin/api-keys",
        "/v1/admin/api-keys/{id}",
        "/v1/admin/audit",
        "/v1/admin/signing-keys:rotate",
    } <= set(paths)
    token = paths["/v1/auth/token"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    assert token["security"] == [{}]
    assert {"400", "429"} <= set(token["responses"])
    created = paths["/v1/auth/api-keys"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiKeyCreated"
    }


def test_admin_operations_answer_401_and_403(document: Document) -> None:
    for path, item in document["paths"].items():
        if not path.startswith("/v1/admin"):
            continue
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert {"401", "403"} <= set(operation["responses"]), (path, method)
            assert {} not in operation["security"]


def test_the_audit_pages_with_before(document: Document) -> None:
    parameters = document["paths"]["/v1/admin/audit"]["get"]["parameters"]

    assert [p["name"] for p in parameters] == ["user", "kind", "limit", "before"]


def test_without_identity_resources_only_their_own_paths_are_documented() -> None:
    document = build_openapi(_blueprint())

    assert not any(path.startswith(("/v1/auth", "/v1/admin")) for path in document["paths"])
    assert "oauth2" in document["components"]["securitySchemes"]
    validate(document)
