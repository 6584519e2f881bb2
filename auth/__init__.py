"""Authentication: password hashing, JWTs and the per-request context getter."""
