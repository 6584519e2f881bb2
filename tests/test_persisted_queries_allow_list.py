"""Allow-list mode: only the client operations' trusted documents run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from settings import ConfigurationError
from tests.helpers import error_codes
from tests.live_server import ROOT
from tests.ws_client import serving, socket, user_pk, wait_subscribed
from web.persisted_queries import load_trusted_documents

MANIFEST = ROOT / "clients" / "typescript" / "trusted-documents.json"
SIGNUP = "mutation Signup($input: SignupInput!) { signup(input: $input) { accessToken } }"
JSON_ONLY = {"Accept": "application/json"}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"trusted_documents_path": str(MANIFEST)}


def trusted_document(operation: str) -> str:
    manifest: dict[str, str] = json.loads(MANIFEST.read_text())
    return next(document for document in manifest.values() if document.startswith(operation))


def persisted(document: str) -> dict[str, Any]:
    sha256 = hashlib.sha256(document.encode()).hexdigest()
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256}}


async def post(client: httpx.AsyncClient, body: dict[str, Any], token: str = "") -> dict[str, Any]:
    headers = {**JSON_ONLY, **({"Authorization": f"Bearer {token}"} if token else {})}
    response = await client.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_trusted_document_runs_by_hash_over_get(client: httpx.AsyncClient) -> None:
    signup_document = trusted_document("mutation Signup")
    signed_up = await post(
        client,
        {
            "query": signup_document,
            "variables": {"input": {"email": "trusted@example.com", "password": "long enough pw"}},
        },
    )
    token = signed_up["data"]["signup"]["accessToken"]
    me = trusted_document("query Me")

    response = await client.get(
        "/graphql",
        params={"extensions": json.dumps(persisted(me))},
        headers={**JSON_ONLY, "Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"]["me"]["email"] == "trusted@example.com"


async def test_unknown_document_is_refused_in_full_and_by_hash(client: httpx.AsyncClient) -> None:
    untrusted = "{ me { email } }"

    in_full = await post(client, {"query": untrusted})
    with_its_hash = await post(client, {"query": untrusted, "extensions": persisted(untrusted)})
    by_hash = await post(client, {"extensions": persisted(untrusted)})
    # A hand-written signup is refused too, even though signup needs no token.
    helper_signup = await post(
        client,
        {
            "query": SIGNUP,
            "variables": {"input": {"email": "x@example.com", "password": "12345678"}},
        },
    )

    assert error_codes(in_full) == ["FORBIDDEN"]
    assert error_codes(with_its_hash) == ["FORBIDDEN"]
    assert error_codes(by_hash) == ["FORBIDDEN"]
    assert error_codes(helper_signup) == ["FORBIDDEN"]


def test_a_manifest_whose_hash_is_not_its_document_is_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "trusted.json"
    manifest.write_text(json.dumps({"0" * 64: "{ __typename }"}))

    with pytest.raises(ConfigurationError, match="TRUSTED_DOCUMENTS_PATH"):
        load_trusted_documents(manifest)


async def test_over_the_socket_only_trusted_documents_run(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    signed_up = await post(
        client,
        {
            "query": trusted_document("mutation Signup"),
            "variables": {
                "input": {"email": "ws@example.com", "password": "correct horse battery"}
            },
        },
    )
    token = signed_up["data"]["signup"]["accessToken"]
    async with serving(app) as url, socket(url, token=token) as ws:
        await ws.subscribe("untrusted", "subscription { taskEvents { kind } }")
        refused = await ws.receive()
        assert (refused["type"], refused["id"]) == ("error", "untrusted")
        assert refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"
        await ws.subscribe("trusted", trusted_document("subscription TaskEvents"))
        await wait_subscribed(app, user_pk(signed_up["data"]["signup"]["user"]["id"]))
