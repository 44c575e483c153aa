"""The document states how to authenticate, and what each operation requires."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate
from starlette.routing import BaseRoute, Mount, Route

import bastion.api.rest.auth as auth_package
from bastion.api.rest.auth.api_key_routes import ApiKeyCreate
from bastion.api.rest.auth.bodies import Body
from bastion.api.rest.openapi import build_openapi
from bastion.api.rest.openapi.auth_bodies import REQUEST_BODY_MODELS, model_schema
from bastion.app import create_app
from bastion.blueprint import AuthSpec, Blueprint, Resource, RoleGrant, StringField, with_identity
from bastion.settings import Settings

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

    assert len(operations) == 4 * 9  # posts, drafts, users, tenants
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
        ("/v1/posts/{id}/history", "get"),
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


# The identity endpoints as served -----------------------------------------------------------

IDENTITY_PREFIXES = ("/v1/auth", "/v1/admin", "/.well-known")
FORM = "application/x-www-form-urlencoded"


def _served_routes(routes: list[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    """Every (path, method) of ``routes``, mounts included, HEAD left out."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            found |= _served_routes(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            for method in route.methods or ():
                if method != "HEAD":
                    found.add((prefix + route.path, method.lower()))
    return found


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[tuple[str, str]], Document]:
    """The identity routes an application serves, and its document (no database is opened)."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('served') / 'app.db'}"
    app = create_app(_blueprint(), settings=Settings(database_url=url))
    routes = {
        (path, method)
        for path, method in _served_routes(list(app.starlette.routes))
        if path.startswith(IDENTITY_PREFIXES)
    }
    return routes, build_openapi(app.blueprint)


def _operation(document: Document, path: str, method: str) -> Document:
    operation: Document = document["paths"][path][method]
    return operation


def _resolve(document: Document, node: Document) -> Document:
    while "$ref" in node:
        *_, section, name = node["$ref"].split("/")
        node = document["components"][section][name]
    return node


def test_every_identity_route_served_is_in_the_document(
    served: tuple[set[tuple[str, str]], Document],
) -> None:
    routes, document = served
    documented = {
        (path, method)
        for path, item in document["paths"].items()
        if path.startswith(IDENTITY_PREFIXES)
        for method in item
        if method != "parameters"
    }

    # The check is not vacuous: the account, MFA and recovery routes are among those served.
    assert {
        ("/v1/auth/password", "post"),
        ("/v1/auth/me", "delete"),
        ("/v1/auth/mfa/totp", "post"),
        ("/v1/auth/mfa/totp", "delete"),
        ("/v1/auth/mfa/totp/confirm", "post"),
        ("/v1/auth/mfa/recovery-codes", "post"),
        ("/v1/auth/verify-email/request", "post"),
        ("/v1/auth/verify-email", "post"),
        ("/v1/auth/password/forgot", "post"),
        ("/v1/auth/password/reset", "post"),
    } <= routes
    assert routes - documented == set()
    assert documented - routes == set()


def test_the_served_document_is_valid_openapi_3_1(
    served: tuple[set[tuple[str, str]], Document],
) -> None:
    validate(served[1])


def test_every_body_model_of_the_identity_routes_is_described() -> None:
    def subclasses(model: type[Body]) -> set[type[Body]]:
        found = set(model.__subclasses__())
        for sub in list(found):
            found |= subclasses(sub)
        return found

    route_models = {m for m in subclasses(Body) if m.__module__.startswith(auth_package.__name__)}
    described = {model for model, _, _ in REQUEST_BODY_MODELS.values()}

    assert route_models <= described


def test_json_request_bodies_are_the_route_models_schemas(document: Document) -> None:
    schemas = document["components"]["schemas"]
    for name, (model, _, _) in REQUEST_BODY_MODELS.items():
        schema = schemas[name]
        fields = model.model_fields
        assert set(schema["properties"]) == set(fields), name
        assert set(schema.get("required", [])) == {
            field for field, info in fields.items() if info.is_required()
        }, name
        assert schema["additionalProperties"] is False, name
    expiry = schemas["ApiKeyCreate"]["properties"]["expires_in"]["anyOf"][0]
    assert (expiry["minimum"], expiry["maximum"]) == (1, 100 * 365 * 86_400)
    assert schemas["ForgotPassword"]["properties"]["email"]["maxLength"] == 320


def test_describing_a_member_a_model_lacks_is_an_error() -> None:
    with pytest.raises(ValueError, match="no member 'nickname'"):
        model_schema(ApiKeyCreate, "A key.", {"nickname": {"description": "?"}})


def test_every_json_body_operation_names_a_described_schema(document: Document) -> None:
    schemas = document["components"]["schemas"]
    for path, item in document["paths"].items():
        if not path.startswith(IDENTITY_PREFIXES):
            continue
        for method, operation in item.items():
            body = operation.get("requestBody") if method != "parameters" else None
            if body is None:
                continue
            for media in body["content"].values():
                assert media["schema"]["$ref"].split("/")[-1] in schemas, (path, method)


def test_the_token_endpoint_takes_a_form_with_every_grant(document: Document) -> None:
    token = _operation(document, "/v1/auth/token", "post")
    form = _resolve(document, token["requestBody"]["content"][FORM]["schema"])

    assert token["security"] == [{}]
    assert form["required"] == ["grant_type"]
    assert form["properties"]["grant_type"]["enum"] == [
        "password",
        "refresh_token",
        "client_credentials",
        "urn:bastion:params:oauth:grant-type:mfa-otp",
    ]
    assert {"username", "password", "refresh_token", "client_id", "mfa_token", "otp"} <= set(
        form["properties"]
    )
    refused = token["responses"]["400"]
    oauth = _resolve(document, refused["content"]["application/problem+json"]["schema"])
    assert "mfa_required" in oauth["allOf"][1]["properties"]["error"]["enum"]


def test_the_token_endpoint_answers_429_with_retry_after(document: Document) -> None:
    locked = _resolve(document, _operation(document, "/v1/auth/token", "post")["responses"]["429"])

    assert "Retry-After" in locked["headers"]
    assert "200" in _operation(document, "/v1/auth/token", "post")["responses"]


def test_me_needs_credentials_and_answers_401(document: Document) -> None:
    me = _operation(document, "/v1/auth/me", "get")
    refused = _resolve(document, me["responses"]["401"])

    assert {} not in me["security"]
    assert {"bearerAuth": []} in me["security"]
    assert "WWW-Authenticate" in refused["headers"]


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/v1/auth/password", "post", {"200", "401", "422", "429"}),
        ("/v1/auth/me", "delete", {"204", "401", "409", "422", "429"}),
        ("/v1/auth/mfa/totp", "post", {"200", "401", "403", "409"}),
        ("/v1/auth/mfa/totp", "delete", {"204", "401", "403", "409", "422", "429"}),
        ("/v1/auth/mfa/totp/confirm", "post", {"200", "401", "403", "409", "422"}),
        ("/v1/auth/mfa/recovery-codes", "post", {"200", "401", "403", "409", "422", "429"}),
        ("/v1/auth/verify-email/request", "post", {"202", "401", "403", "409"}),
        ("/v1/auth/verify-email", "post", {"204", "400", "422"}),
        ("/v1/auth/password/forgot", "post", {"202", "400", "422"}),
        ("/v1/auth/password/reset", "post", {"204", "400", "403", "422"}),
    ],
)
def test_the_account_endpoints_state_their_answers(
    document: Document, path: str, method: str, statuses: set[str]
) -> None:
    assert statuses <= set(_operation(document, path, method)["responses"])


def test_each_account_endpoint_needs_the_credential_it_takes(document: Document) -> None:
    def security(path: str, method: str = "post") -> list[Document]:
        requirement: list[Document] = _operation(document, path, method)["security"]
        return requirement

    token_only: list[Document] = [{"bearerAuth": []}, {"oauth2": []}]
    assert security("/v1/auth/password") == token_only
    assert security("/v1/auth/me", "delete") == token_only
    assert security("/v1/auth/mfa/totp", "delete") == token_only
    assert security("/v1/auth/mfa/recovery-codes") == token_only
    # Enrolment also takes the sign-in's mfa_token, in the body, instead of a bearer token.
    for path in ("/v1/auth/mfa/totp", "/v1/auth/mfa/totp/confirm"):
        assert security(path) == [*token_only, {}]
        body = _resolve(document, _operation(document, path, "post")["requestBody"]["content"])
        assert "mfa_token" in _resolve(document, body["application/json"]["schema"])["properties"]
    assert _operation(document, "/v1/auth/mfa/totp", "post")["requestBody"]["required"] is False
    for path in ("/v1/auth/verify-email", "/v1/auth/password/forgot", "/v1/auth/password/reset"):
        assert security(path) == [{}]
    assert {"apiKey": []} in security("/v1/auth/verify-email/request")


def test_admin_operations_say_they_need_the_admin_role(document: Document) -> None:
    for path, item in document["paths"].items():
        if not path.startswith("/v1/admin"):
            continue
        for method, operation in item.items():
            if method != "parameters":
                assert "`admin` role" in operation["description"], (path, method)


def test_secrets_are_answered_with_no_store(document: Document) -> None:
    for path, method, status in [
        ("/v1/auth/token", "post", "200"),
        ("/v1/auth/password", "post", "200"),
        ("/v1/auth/mfa/totp", "post", "200"),
        ("/v1/auth/mfa/recovery-codes", "post", "200"),
        ("/v1/auth/api-keys", "post", "201"),
        ("/v1/admin/api-keys", "post", "201"),
        ("/v1/admin/service-accounts", "post", "201"),
    ]:
        headers = _operation(document, path, method)["responses"][status]["headers"]
        assert "Cache-Control" in headers, (path, method)
