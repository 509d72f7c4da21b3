"""The OpenAPI 3.1 document and the reference page: served by the app, nothing from elsewhere."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_openapi_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.1")
    assert {"/api/v1/posts", "/api/v1/posts/{post_id}/retry", "/api/v1/queue/next-slot"} <= set(schema["paths"])
    create = schema["paths"]["/api/v1/posts"]["post"]
    assert set(create["responses"]["422"]["content"]) == {"application/problem+json"}
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"]["scheme"] == "bearer"


def test_docs_page_uses_vendored_assets_and_no_inline_script(client):
    response = client.get("/api/v1/docs")
    html = response.content.decode()
    assert response.status_code == 200
    assert "default-src 'self'" in response["Content-Security-Policy"]
    sources = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert sources == ["/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/js/api-docs.js"]
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # every script is a file
    assert "//" not in "".join(re.findall(r'(?:src|href)="([^"]+)"', html))  # no other host
    assert 'data-openapi-url="/api/v1/openapi.json"' in html
