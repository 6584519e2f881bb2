"""`TaskqlApp`: the FastAPI app, with one route answered without FastAPI's own layers.

Through FastAPI a request passes its server-error, exception-telemetry and body-limit
wrappers, the app's middleware, Starlette's exception middleware, FastAPI's exit stack and
the router before `request_response` calls the endpoint; most of those wrap `send` again.
For a route served directly (/graphql) what is left is what decides its answer: the app's
own middleware (`user_middleware`, the same list FastAPI runs for every other path) and
the endpoint, inside the 500 that ServerErrorMiddleware gives an exception that escapes.
What is skipped does nothing for such a route: it raises no HTTPException for the
exception middleware to turn into JSON, opens no files for the exit stack, has no body
limit of FastAPI's, and FastAPI's OpenTelemetry is off (when it is on, the route goes
the whole way round, so that its requests are still traced).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


class TaskqlApp(FastAPI):
    """FastAPI, plus `serve_directly` for the one route that is worth the shortcut."""

    _direct_route: Route | None = None
    _direct_stack: ASGIApp | None = None

    @property
    def direct_route(self) -> Route | None:
        """The route given to `serve_directly`, if any."""
        return self._direct_route

    def serve_directly(self, route: BaseRoute) -> None:
        """Answer `route` without FastAPI's own layers.

        `route` must be the one this app's router picks for its path (the first included
        there): a plain `Route` on a fixed path, with an async `request -> response`
        endpoint and no middleware of its own, that answers every method itself (/graphql
        answers those it does not serve with a JSON 405). Every method on its path is
        served directly, through the app's middleware, so a CORS preflight still gets
        the CORS middleware's answer, and a method the route does not list (TRACE, or
        any name) gets the endpoint's JSON rather than FastAPI's.
        """
        if not (
            isinstance(route, Route)
            and not route.param_convertors
            and route.methods
            and inspect.iscoroutinefunction(route.endpoint)
        ):
            raise ValueError(f"{route!r} cannot be served directly")
        self._direct_route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._direct_route
        if (
            route is not None
            and scope["type"] == "http"
            and scope["path"] == route.path
            and not scope.get("root_path")
            and not self.root_path
            and not self._native_telemetry.enabled()
        ):
            if self.middleware_stack is None:
                self.middleware_stack = self.build_middleware_stack()
            assert self._direct_stack is not None
            scope["app"] = self
            await self._direct_stack(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def build_middleware_stack(self) -> ASGIApp:
        if self._direct_route is not None:
            self._direct_stack = self._build_direct_stack(self._direct_route.endpoint)
        return super().build_middleware_stack()

    def _build_direct_stack(self, endpoint: Endpoint) -> ASGIApp:
        app = _endpoint_app(endpoint)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        error_handler = None
        for key, value in self.exception_handlers.items():
            if key in (500, Exception):
                error_handler = value
        return ServerErrorMiddleware(app, handler=error_handler, debug=self.debug)


def _endpoint_app(endpoint: Endpoint) -> ASGIApp:
    """`endpoint` as an ASGI app, called the way Starlette's `request_response` calls it."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await endpoint(Request(scope, receive, send))
        await response(scope, receive, send)

    return app
