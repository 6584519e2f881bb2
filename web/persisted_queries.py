"""Automatic persisted queries, as Apollo Client's persisted-query link and urql's
`persistedExchange` speak them, and an allow-list of trusted documents.

A request's `extensions.persistedQuery` is `{"version": 1, "sha256Hash": "<hex>"}`.
With the hash alone the document comes from the store, or the answer is
`PersistedQueryNotFound` and the client sends the document in full with the same
hash; the server checks that the hash is the document's before storing it, so
nobody can make a hash run another document. Only documents that parse within
MAX_TOKENS and fit PERSISTED_QUERY_MAX_BYTES are stored, so junk sent with its
own hash costs no memory; a document that is not stored still runs when sent in
full. The store is an in-process LRU bounded by entries and bytes, or Redis when
`PERSISTED_QUERIES_STORAGE_URL` names it so that every worker shares what one of
them learnt.

With `TRUSTED_DOCUMENTS_PATH` set, only the documents in that manifest (sha256 ->
document, written by `clients/typescript`'s `npm run manifest`) run, sent by hash
or in full; nothing is learnt from requests.

The router calls `PersistedQueries.resolve` before parsing and renders what it
raises like any other request error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import coredis
from coredis.exceptions import RedisError
from graphql import DocumentNode

from errors import BadUserInput, Forbidden, PersistedQueryNotFound
from schema.runtime.limits import parse_document
from settings import ConfigurationError, Settings

logger = logging.getLogger("taskql.persisted_queries")

PROTOCOL_VERSION = 1
HASH_FIELD = "extensions.persistedQuery.sha256Hash"
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# With PERSISTED_QUERY_MAX_BYTES capping each document, the in-process store
# still holds hundreds of the largest, and thousands of typical, documents.
MEMORY_STORE_MAX_BYTES = 4 * 1024 * 1024


def sha256_hex(document: str) -> str | None:
    """The hex SHA-256 of the document's UTF-8; None for text UTF-8 cannot hold (a lone
    surrogate, which JSON can carry): no hash is that document's, and it cannot parse."""
    try:
        encoded = document.encode()
    except UnicodeEncodeError:
        return None
    return hashlib.sha256(encoded).hexdigest()


class PersistedQueryStore(Protocol):
    async def get(self, sha256_hash: str) -> str | None: ...

    async def put(self, sha256_hash: str, document: str) -> None: ...

    async def close(self) -> None: ...


class MemoryStore:
    """Least recently used documents of this process: at most `capacity` of them,
    and at most `max_bytes` of UTF-8 in all."""

    def __init__(self, capacity: int, *, max_bytes: int) -> None:
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._bytes = 0
        self._documents: OrderedDict[str, str] = OrderedDict()

    async def get(self, sha256_hash: str) -> str | None:
        document = self._documents.get(sha256_hash)
        if document is not None:
            self._documents.move_to_end(sha256_hash)
        return document

    async def put(self, sha256_hash: str, document: str) -> None:
        if sha256_hash in self._documents:
            self._documents.move_to_end(sha256_hash)
            return
        self._documents[sha256_hash] = document
        self._bytes += len(document.encode())
        while len(self._documents) > self._capacity or self._bytes > self._max_bytes:
            _, forgotten = self._documents.popitem(last=False)
            self._bytes -= len(forgotten.encode())

    async def close(self) -> None:
        self._documents.clear()
        self._bytes = 0


class RedisStore:
    """Documents shared by every worker; each expires `ttl_seconds` after its last use.

    Redis being away only costs round trips: a lookup that fails is a miss, so
    the client sends the document in full, and a store that fails is skipped.
    """

    KEY_PREFIX = "taskql:apq:"

    def __init__(self, url: str, *, ttl_seconds: int) -> None:
        self._redis: coredis.Redis[str] = coredis.Redis.from_url(url, decode_responses=True)
        self._ttl_seconds = ttl_seconds

    async def get(self, sha256_hash: str) -> str | None:
        try:
            return await self._redis.getex(self.KEY_PREFIX + sha256_hash, ex=self._ttl_seconds)
        except (RedisError, OSError) as error:
            logger.warning("persisted-query lookup failed: %s", type(error).__name__)
            return None

    async def put(self, sha256_hash: str, document: str) -> None:
        try:
            await self._redis.set(self.KEY_PREFIX + sha256_hash, document, ex=self._ttl_seconds)
        except (RedisError, OSError) as error:
            logger.warning("persisted-query store failed: %s", type(error).__name__)

    async def close(self) -> None:
        self._redis.connection_pool.disconnect()


def load_trusted_documents(path: Path) -> dict[str, str]:
    """The manifest at `path`, refused whole if any hash is not its document's."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"TRUSTED_DOCUMENTS_PATH: cannot read {path}: {error}") from None
    if not isinstance(manifest, dict) or not all(
        isinstance(document, str) and sha256_hex(document) == sha256_hash
        for sha256_hash, document in manifest.items()
    ):
        raise ConfigurationError(
            f"TRUSTED_DOCUMENTS_PATH: {path} must map each document's sha256 to the document"
        )
    return manifest


class PersistedQueries:
    """Turns a request's `query` and `extensions` into the document to execute."""

    def __init__(
        self,
        store: PersistedQueryStore,
        *,
        max_document_bytes: int,
        max_tokens: int,
        trusted_documents: Mapping[str, str] | None = None,
    ) -> None:
        self._store = store
        self._max_document_bytes = max_document_bytes
        self._max_tokens = max_tokens
        self._trusted = trusted_documents

    @classmethod
    def from_settings(cls, settings: Settings) -> PersistedQueries:
        store: PersistedQueryStore
        if settings.persisted_queries_storage_url.startswith("memory://"):
            store = MemoryStore(
                settings.persisted_queries_cache_size, max_bytes=MEMORY_STORE_MAX_BYTES
            )
        else:
            store = RedisStore(
                settings.persisted_queries_storage_url,
                ttl_seconds=settings.persisted_queries_ttl_seconds,
            )
        trusted = None
        if settings.trusted_documents_path is not None:
            trusted = load_trusted_documents(Path(settings.trusted_documents_path))
        return cls(
            store,
            max_document_bytes=settings.persisted_query_max_bytes,
            max_tokens=settings.max_tokens,
            trusted_documents=trusted,
        )

    async def resolve(
        self, query: str | None, extensions: Mapping[str, object] | None
    ) -> str | None:
        """The document to execute; None when the request carries neither query nor hash.

        Raises PersistedQueryNotFound for an unknown hash, BadUserInput for a
        malformed `persistedQuery` or a hash that is not the query's, and
        Forbidden for a document outside the allow-list.
        """
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if query is not None and self._trusted is not None:
                self._require_trusted(sha256_hex(query))
            return query
        sha256_hash = _requested_hash(persisted)
        if query is None:
            return await self._lookup(sha256_hash)
        if sha256_hex(query) != sha256_hash:
            raise BadUserInput("The sha256Hash is not the hash of the query.", field=HASH_FIELD)
        if self._trusted is not None:
            self._require_trusted(sha256_hash)
        elif self._worth_storing(query):
            await self._store.put(sha256_hash, query)
        return query

    async def close(self) -> None:
        await self._store.close()

    async def _lookup(self, sha256_hash: str) -> str:
        if self._trusted is not None:
            self._require_trusted(sha256_hash)
            return self._trusted[sha256_hash]
        document = await self._store.get(sha256_hash)
        if document is None:
            raise PersistedQueryNotFound
        return document

    def _worth_storing(self, query: str) -> bool:
        """Small enough, and parses within MAX_TOKENS (the parse is cached for execution)."""
        if len(query.encode()) > self._max_document_bytes:
            return False
        return isinstance(parse_document(query, self._max_tokens), DocumentNode)

    def _require_trusted(self, sha256_hash: str | None) -> None:
        if self._trusted is not None and (sha256_hash is None or sha256_hash not in self._trusted):
            raise Forbidden("Only trusted documents run on this server.")


def _requested_hash(persisted: object) -> str:
    if not isinstance(persisted, Mapping) or persisted.get("version") != PROTOCOL_VERSION:
        raise BadUserInput(
            f"Only version {PROTOCOL_VERSION} of persisted queries is supported.",
            field="extensions.persistedQuery.version",
        )
    sha256_hash = persisted.get("sha256Hash")
    if not isinstance(sha256_hash, str) or not _SHA256_HEX.match(sha256_hash):
        raise BadUserInput("sha256Hash must be 64 lower-case hex digits.", field=HASH_FIELD)
    return sha256_hash
