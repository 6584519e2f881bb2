"""The HTTP layer: ASGI middleware, the /graphql router and the health endpoints."""
