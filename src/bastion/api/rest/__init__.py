"""The REST API: generated resource routes, problem documents, JSON encoding."""

from bastion.api.rest.encoding import dump_json, read_json_body
from bastion.api.rest.http import RestConfig
from bastion.api.rest.middleware import ProblemMiddleware, http_exception_handler
from bastion.api.rest.problems import (
    PROBLEM_TYPE_PREFIX,
    Problem,
    problem_for_error,
    problem_response,
)
from bastion.api.rest.resources import resource_routes

__all__ = [
    "PROBLEM_TYPE_PREFIX",
    "Problem",
    "ProblemMiddleware",
    "RestConfig",
    "dump_json",
    "http_exception_handler",
    "problem_for_error",
    "problem_response",
    "read_json_body",
    "resource_routes",
]
