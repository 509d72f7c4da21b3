"""``Authorization: Bearer pw_live_…`` to a Principal, then the key's rate limit."""

from django.http import HttpRequest
from ninja.security import HttpBearer

from api.keys import KeyRefused, Principal, api_key_authenticate
from api.problems import ApiError
from api.ratelimit import rate_check

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="api"'}


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is the client's to forge unless a proxy we trust sets it.
    return request.META.get("REMOTE_ADDR") or None


class ApiKeyAuth(HttpBearer):
    def __call__(self, request: HttpRequest) -> Principal:
        # Our own parsing: ninja's logs the whole header (the key) when DEBUG is on.
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Send your API key as 'Authorization: Bearer pw_live_…'.", headers=CHALLENGE)
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Principal:
        try:
            principal = api_key_authenticate(token=token, ip=client_ip(request))
        except KeyRefused as exc:
            raise ApiError(401, str(exc), headers=CHALLENGE) from None
        state = rate_check(principal)
        if state is not None:
            request.rate_headers = state.headers()
            if state.exceeded:
                detail = f"Over {state.limit} requests a minute for this key; try again in {state.reset} s."
                raise ApiError(429, detail, headers={**state.headers(), "Retry-After": str(state.reset)})
        return principal


def principal_of(request: HttpRequest) -> Principal:
    return request.auth  # set by ApiKeyAuth on every authenticated operation
