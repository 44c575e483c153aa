"""Documents generated from the blueprint that describe Bastion beyond its REST API.

:func:`build_asyncapi` writes the AsyncAPI 3.0 document of the events Bastion
publishes (``bastion export asyncapi``); it reads only the blueprint.
"""

from bastion.architect.asyncapi import ASYNCAPI_VERSION, CONTENT_TYPE, build_asyncapi
from bastion.architect.event_examples import example_event

__all__ = ["ASYNCAPI_VERSION", "CONTENT_TYPE", "build_asyncapi", "example_event"]
