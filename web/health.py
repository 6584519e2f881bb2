"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from auth.context import services_of
from errors import ServiceUnavailable

READINESS_TIMEOUT_SECONDS = 2.0

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    engine = services_of(request).engine
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError, ServiceUnavailable):
        # ServiceUnavailable: the circuit breaker is open (db/breaker.py), answered at once.
        return JSONResponse(
            {"status": "unavailable"}, status_code=503, headers={"Retry-After": "5"}
        )
    return JSONResponse({"status": "ok"})
