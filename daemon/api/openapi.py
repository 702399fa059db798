"""The OpenAPI 3.1 document, generated from the route list."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from .routes import ROUTES, Access

__all__ = ["document"]

_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")


@cache
def document(version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        path = _PARAM.sub(r"{\1}", route.path)
        operation: dict[str, Any] = {
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": route.handler.__name__,
            "parameters": [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in _PARAM.findall(route.path)
            ]
            + [{"name": q, "in": "query", "schema": {"type": "string"}} for q in route.query],
            "responses": {
                "200": {"description": "OK"},
                "4XX": {"$ref": "#/components/responses/Error"},
            },
            "x-access": route.access.value,
        }
        if route.access is not Access.PUBLIC:
            operation["security"] = (
                [{"adminSocket": []}]
                if route.access is Access.ADMIN
                else [{"session": []}, {"adminSocket": []}]
            )
        if route.body:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    route.body: {
                        "schema": {"type": "object"}
                        if route.body.endswith("json")
                        else {"type": "string", "format": "binary"}
                    }
                },
            }
        paths.setdefault(path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "selfdata API",
            "version": version,
            "description": "The personal data box's JSON API. See docs/api.md.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "selfdata_session"},
                "adminSocket": {
                    "type": "http",
                    "scheme": "unix-socket",
                    "description": "Requests on the data dir's Unix socket (file permissions).",
                },
            },
            "responses": {
                "Error": {
                    "description": "An error with a message for people",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "error": {
                                        "type": "object",
                                        "properties": {
                                            "code": {"type": "string"},
                                            "message": {"type": "string"},
                                        },
                                    }
                                },
                            }
                        }
                    },
                }
            },
        },
    }
