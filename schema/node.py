"""The Node interface and opaque global ids (`base64("Type:pk")`)."""

from __future__ import annotations

import base64
import binascii

import strawberry


@strawberry.interface(description="An object with an opaque, globally unique id.")
class Node:
    id: strawberry.ID


_URL_SAFE = bytes.maketrans(b"+/", b"-_")
MAX_PK = 2**63 - 1
"""The largest key either database stores (a signed 64-bit integer): a larger one names
nothing, and would overflow the drivers' integer parameters."""


def to_global_id(type_name: str, pk: int) -> strawberry.ID:
    """`base64.urlsafe_b64encode`, spelled out: every task on a page calls this."""
    encoded = binascii.b2a_base64(f"{type_name}:{pk}".encode(), newline=False)
    return strawberry.ID(encoded.translate(_URL_SAFE).decode())


def from_global_id(global_id: str) -> tuple[str, int] | None:
    """(type name, primary key) of a well-formed id, None for anything else."""
    try:
        decoded = base64.urlsafe_b64decode(global_id.encode("ascii")).decode()
        type_name, _, pk = decoded.partition(":")
        number = int(pk)
    except (ValueError, binascii.Error, UnicodeError):
        return None
    if not type_name or not 0 < number <= MAX_PK or str(number) != pk:
        return None
    return type_name, number
