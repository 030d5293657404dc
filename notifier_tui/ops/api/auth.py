"""The API's one credential: a Bearer token, compared in constant time."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

# auto_error=False: a missing header reaches our check and gets the same 401 body
# as a wrong token; declaring the scheme puts an "Authorize" button in /docs.
_scheme = HTTPBearer(auto_error=False, description="the api_token setting")


class BearerAuth:
    """A FastAPI dependency that lets a request through only with the right token.

    A missing or wrong token gets 401 before the handler runs, so nothing
    happens. The token is never logged, and the comparison takes the same time
    whatever prefix matches.
    """

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("the API needs an api_token")
        self._token = token.encode()

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"

    async def __call__(
        self, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_scheme)]
    ) -> None:
        given = credentials.credentials.encode() if credentials is not None else b""
        if not hmac.compare_digest(given, self._token):
            raise HTTPException(
                status_code=401,
                detail={"error": "unauthorized", "rule": "a valid Bearer api_token is required"},
                headers={"WWW-Authenticate": "Bearer"},
            )
