"""The developer REST API, version 1: one NinjaAPI, one router per resource module."""

from typing import Any

from ninja import NinjaAPI

from api import analytics, connect, hooks, media, posts, problems, queue, social_accounts, social_networks, webhooks
from api.auth import ApiKeyAuth

DESCRIPTION = """Postwright's developer API. Authenticate with `Authorization: Bearer pw_live_…`
(keys are made by workspace admins under Settings → API keys). Errors are RFC 9457 problem details
with a stable `error_code`; creating POSTs accept `Idempotency-Key`; every response carries
`X-Request-Id` and the rate-limit headers. See the README's API section."""


class PostwrightAPI(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> dict:
        """Errors are documented as what they are: application/problem+json."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if str(status)[0] in "45" and "application/json" in content:
                        content["application/problem+json"] = content.pop("application/json")
        return schema


api = PostwrightAPI(
    title="Postwright API",
    version="1.0.0",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=ApiKeyAuth(),
    docs_url=None,  # our own page, with vendored assets and no inline script (see api/docs.py)
    openapi_url="/openapi.json",
)
problems.install(api)
api.add_router("/posts", posts.router)
api.add_router("/queue", queue.router)
api.add_router("/", connect.router)  # before /social-accounts: its pending/ paths come first
api.add_router("/social-accounts", social_accounts.router)
api.add_router("/social-networks", social_networks.router)
api.add_router("/media", media.router)
api.add_router("/webhooks", webhooks.router)
api.add_router("/hooks", hooks.router)
api.add_router("/analytics", analytics.router)
