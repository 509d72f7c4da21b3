"""API test helpers: keys for the team's workspace (and the outsider's), and a JSON client."""

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Membership
from api.keys import api_key_create
from api.models import ApiKey


@dataclass
class Api:
    client: Client

    def call(self, method: str, path: str, token: str | None, body=None, **headers):
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        if token is not None:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        data = json.dumps(body) if body is not None else None
        return getattr(self.client, method)(f"/api/v1{path}", data=data, content_type="application/json", **extra)

    def get(self, path, token, **headers):
        return self.client.get(f"/api/v1{path}", HTTP_AUTHORIZATION=f"Bearer {token}",
                               **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})  # fmt: skip

    def post(self, path, token, body=None, **headers):
        return self.call("post", path, token, body if body is not None else {}, **headers)

    def put(self, path, token, body, **headers):
        return self.call("put", path, token, body, **headers)

    def delete(self, path, token, **headers):
        return self.call("delete", path, token, None, **headers)


@pytest.fixture
def api() -> Api:
    return Api(Client())


def make_key(workspace, *, scope=ApiKey.Scope.READ_WRITE, name="ci-bot", **extra) -> str:
    owner = Membership.objects.filter(workspace=workspace, role="owner").first()
    return api_key_create(actor=Actor.of(owner), name=name, scope=scope, **extra)[1]


@dataclass
class Keys:
    write: str
    read: str
    outsider: str
    expired: str


@pytest.fixture
def keys(team) -> Keys:
    expired = make_key(team.workspace, name="old", expires_at=timezone.now() + timedelta(seconds=30))
    ApiKey.objects.filter(prefix=expired[:16]).update(expires_at=timezone.now() - timedelta(seconds=1))
    return Keys(
        write=make_key(team.workspace),
        read=make_key(team.workspace, scope=ApiKey.Scope.READ, name="reader"),
        outsider=make_key(team.other_workspace, name="theirs"),
        expired=expired,
    )


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["type"].startswith("https://")
    if code:
        assert body["error_code"] == code, body
    return body
