"""The hot embedding routes served without FastAPI's per-request machinery.

`/v1/embeddings` and `/v2/embed` read and validate their own bodies (see `body.py`), so for them
FastAPI's routing, dependency solving and exit stacks only add work: ~0.2 ms of event-loop time
per request, a third of what a single-caption request costs outside the model. With 16 clients
sending one caption each that overhead is what keeps the server below the engine's own rate
(benchmarks/README.md). This layer calls the very same endpoint functions for those exact
(method, path) pairs and renders their errors with the app's own exception handlers, so bodies,
status codes and headers stay identical; every other request goes through FastAPI unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

ErrorHandler = Callable[..., Any]  # Starlette's: (request, error) -> Response, or awaitable of one


def is_direct(route: APIRoute) -> bool:
    """A route FastAPI only calls with the request: no parameters, dependencies or response model
    to resolve, and an endpoint that returns a Response itself."""
    dependant = route.dependant
    resolved = (
        dependant.path_params,
        dependant.query_params,
        dependant.header_params,
        dependant.cookie_params,
        dependant.body_params,
        dependant.dependencies,
    )
    returns = inspect.signature(route.endpoint, eval_str=True).return_annotation
    return (
        dependant.request_param_name is not None
        and not any(resolved)
        and "{" not in route.path
        and inspect.isclass(returns)
        and issubclass(returns, Response)
    )


class DirectRoutes:
    def __init__(
        self, app: ASGIApp, *, routes: Iterable[BaseRoute], handlers: Mapping[Any, ErrorHandler]
    ) -> None:
        self.app = app
        self.handlers = handlers  # the app's own dict: handlers added later are seen too
        self.table: dict[tuple[str, str], APIRoute] = {}
        for route in routes:
            if not isinstance(route, APIRoute) or not is_direct(route):
                raise ValueError(f"{route} needs FastAPI to resolve its parameters")
            for method in route.methods or ():
                self.table[(method, route.path)] = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = (
            self.table.get((scope.get("method", ""), scope.get("path", "")))
            if scope["type"] == "http"
            else None
        )
        if route is None or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        # What the router would have put in the scope: error dialects and metrics read the route.
        scope["route"], scope["endpoint"], scope["path_params"] = route, route.endpoint, {}
        request = Request(scope, receive, send)
        try:
            response: Response = await route.endpoint(request)
        except Exception as error:
            answer = self._handler(error)(request, error)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)

    def _handler(self, error: Exception) -> ErrorHandler:
        """The most specific handler registered for the error's class, as Starlette looks it up."""
        for kind in type(error).__mro__:
            if kind in self.handlers:
                return self.handlers[kind]
        raise error
