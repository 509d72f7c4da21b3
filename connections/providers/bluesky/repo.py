"""Records and blobs in the account's repository (com.atproto.repo.*)."""

import logging
from dataclasses import dataclass
from typing import Any

from connections.errors import ErrorClass, ProviderError
from connections.providers.bluesky.client import AccountClient, malformed, require_str

log = logging.getLogger(__name__)

POST = "app.bsky.feed.post"


@dataclass(frozen=True)
class StrongRef:
    """A record's address and content hash: what replies and the caller need."""

    uri: str
    cid: str

    @classmethod
    def from_json(cls, data: dict[str, Any], what: str) -> "StrongRef":
        uri = require_str(data, "uri", what)
        if not uri.startswith("at://"):
            raise malformed(what)
        return cls(uri=uri, cid=require_str(data, "cid", what))

    @property
    def rkey(self) -> str:
        return self.uri.rsplit("/", 1)[-1]

    def as_json(self) -> dict[str, str]:
        return {"uri": self.uri, "cid": self.cid}


def parse_at_uri(uri: str) -> tuple[str, str, str]:
    """(repo DID, collection, record key) of an ``at://`` record URI."""
    parts = uri.removeprefix("at://").split("/") if uri.startswith("at://") else []
    if len(parts) != 3 or not all(parts):
        raise ProviderError(ErrorClass.CONTENT, f"Not a Bluesky post address: {uri!r}", code="bad_uri")
    repo, collection, rkey = parts
    return repo, collection, rkey


def upload_blob(client: AccountClient, data: bytes, mime_type: str) -> dict[str, Any]:
    """Upload raw bytes; returns the blob reference to embed in a record."""
    answer = client.procedure("com.atproto.repo.uploadBlob", data=data, content_type=mime_type)
    blob = answer.get("blob")
    ref = blob.get("ref") if isinstance(blob, dict) else None
    well_formed = isinstance(ref, dict) and isinstance(ref.get("$link"), str)
    if not isinstance(blob, dict) or not well_formed or blob.get("$type") != "blob":
        raise malformed("uploadBlob")
    return blob


def create_record(client: AccountClient, record: dict[str, Any], rkey: str | None) -> StrongRef:
    """Create a post; with a fixed ``rkey``, a second attempt returns the record that landed."""
    body: dict[str, Any] = {"repo": client.did, "collection": POST, "record": record}
    if rkey:
        body["rkey"] = rkey
    try:
        answer = client.procedure("com.atproto.repo.createRecord", body, create_call=True)
    except ProviderError as exc:
        existing = _already_created(client, rkey, exc)
        if existing is None:
            raise
        return existing
    return StrongRef.from_json(answer, "createRecord")


def _already_created(client: AccountClient, rkey: str | None, exc: ProviderError) -> StrongRef | None:
    """The record at our rkey, when a failed create may be a repeat of one that succeeded.

    @atproto/pds answers a create at a taken rkey with a bare ``500 InternalServerError``
    (its repository refuses the duplicate key and the message is not passed on), the same as
    a real crash; a timeout is no clearer. So look, rather than guess from the answer.
    Refused credentials or a rate limit mean nothing was written: no need to look.
    """
    if not rkey or exc.error_class in (ErrorClass.AUTH, ErrorClass.RATE):
        return None
    try:
        existing = get_record(client, rkey)
    except ProviderError:
        return None
    if existing is not None:
        log.info("Bluesky post %s already existed; treating the create as done", existing.uri)
    return existing


def get_record(client: AccountClient, rkey: str) -> StrongRef | None:
    """The post at ``rkey`` in the account's repository, or None if there is none."""
    params = {"repo": client.did, "collection": POST, "rkey": rkey}
    try:
        answer = client.pds.query("com.atproto.repo.getRecord", params)  # public: no token needed
    except ProviderError as exc:
        if exc.code == "RecordNotFound" or "could not locate record" in exc.message.lower():
            return None
        raise
    return StrongRef.from_json(answer, "getRecord")


def delete_record(client: AccountClient, uri: str) -> None:
    repo, collection, rkey = parse_at_uri(uri)
    if repo != client.did:
        raise ProviderError(ErrorClass.CONTENT, "That post belongs to another Bluesky account.", code="not_ours")
    client.procedure("com.atproto.repo.deleteRecord", {"repo": repo, "collection": collection, "rkey": rkey})
