"""The OpenAPI 3.1 document generated from the blueprint, and the endpoints serving it.

``build_openapi`` reads only the blueprint (``bastion export openapi`` uses it
without a server); ``openapi_routes`` serves a built document at
``/openapi.json`` and Swagger UI at ``/docs``, from local files.
"""

from bastion.api.rest.openapi.document import OPENAPI_VERSION, build_openapi
from bastion.api.rest.openapi.responses import PROBLEM_STATUSES
from bastion.api.rest.openapi.schemas import DocumentLimits
from bastion.api.rest.openapi.serving import SWAGGER_UI_DIRECTORY, openapi_routes

__all__ = [
    "OPENAPI_VERSION",
    "PROBLEM_STATUSES",
    "SWAGGER_UI_DIRECTORY",
    "DocumentLimits",
    "build_openapi",
    "openapi_routes",
]
