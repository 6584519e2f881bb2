"""Operations and steps shared by the account lifecycle and administration tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import DEFAULT_PASSWORD, graphql

USER_FIELDS = "id email name emailVerified role suspended"
REQUEST_RESET = "mutation($email: String!) { requestPasswordReset(email: $email) }"
RESET = f"""
mutation($token: String!, $password: String!) {{
  resetPassword(token: $token, newPassword: $password) {{
    accessToken refreshToken user {{ {USER_FIELDS} }}
  }}
}}
"""
VERIFY = f"mutation($token: String!) {{ verifyEmail(token: $token) {{ {USER_FIELDS} }} }}"
REQUEST_VERIFICATION = "mutation { requestEmailVerification }"
CHANGE_EMAIL = (
    "mutation($email: String!, $password: String!) "
    "{ changeEmail(newEmail: $email, password: $password) }"
)
UPDATE_PROFILE = f"""
mutation($input: UpdateProfileInput!) {{ updateProfile(input: $input) {{ {USER_FIELDS} }} }}
"""
DELETE_ACCOUNT = "mutation($password: String!) { deleteAccount(password: $password) }"
CHANGE_PASSWORD = """
mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) { accessToken }
}
"""
LOGIN = """
mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { accessToken refreshToken }
}
"""
REFRESH = "mutation($token: String!) { refreshToken(refreshToken: $token) { accessToken } }"
ME = f"{{ me {{ {USER_FIELDS} }} }}"
SUSPEND = f"""
mutation($id: ID!, $reason: String!) {{ suspendUser(id: $id, reason: $reason) {{ {USER_FIELDS} }} }}
"""
REINSTATE = f"mutation($id: ID!) {{ reinstateUser(id: $id) {{ {USER_FIELDS} }} }}"
USERS = f"""
query($first: Int, $after: String, $last: Int, $before: String, $search: String) {{
  users(first: $first, after: $after, last: $last, before: $before, search: $search) {{
    totalCount
    edges {{ cursor node {{ {USER_FIELDS} }} }}
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
  }}
}}
"""


async def login(
    client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD
) -> dict[str, Any]:
    return await graphql(client, LOGIN, {"email": email, "password": password})


def extensions(body: dict[str, Any]) -> dict[str, Any]:
    """The first error's extensions, without the request id."""
    found: dict[str, Any] = dict(body["errors"][0]["extensions"])
    found.pop("requestId", None)
    return found
