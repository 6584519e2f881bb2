"""The GraphQL runtime: how an operation runs (the engine beneath the API in `schema/`).

`operation` runs one request through taskql's rules and Strawberry's extension hooks;
the fast path completes plain selections without graphql-core's per-field machinery.
"""
