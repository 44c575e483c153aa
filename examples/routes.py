"""Hand-written routes served beside the generated ones (the blueprint's ``routes:`` key).

They are plain Starlette routes; ``request.app.state.bastion`` is the running
:class:`~bastion.BastionApp`, with its ``blueprint`` and record ``service``.
"""

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import bastion


async def stats(request: Request) -> JSONResponse:
    """``GET /v1/stats``: what this service serves, read from its blueprint."""
    app: bastion.BastionApp = request.app.state.bastion
    blueprint = app.blueprint
    return JSONResponse(
        {
            "service": blueprint.name,
            "bastion_version": bastion.__version__,
            "resources": [
                {
                    "name": name,
                    "path": f"/v1/{name}",
                    "fields": sorted(resource.fields),
                    "has_hooks": name in app.service.hooks.resources(),
                }
                for name, resource in blueprint.resources.items()
            ],
        }
    )


routes = [Route("/v1/stats", stats, methods=["GET"])]
