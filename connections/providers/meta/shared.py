"""What Facebook Pages and Instagram (through Facebook Login) share: the one consent, the health
check, insights, pacing before creates, polling while Meta processes, and the data-access lapse."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountMetrics,
    AccountState,
    AppCredentials,
    Connection,
    PartRequest,
    Pending,
    PostMetrics,
    Profile,
    Provider,
    TokenSet,
)
from connections.providers.meta import login
from connections.providers.meta.graph import Graph, background_hold, required_id, text_field, usage_hold

# Matching a lost answer by text: posts older than this are not ours (reconciliation runs within
# PUBLISH_RECONCILE_GIVE_UP_SECONDS, 6 h by default).
LOOKUP_WINDOW = timedelta(hours=12)


def setting(name: str) -> Any:
    """Meta's settings come from its conf.py at start-up, so the settings type does not know them."""
    return getattr(settings, name)


class MetaLoginProvider(Provider):
    """What Facebook Pages and Instagram (through Facebook Login) share: the one consent, the
    health check, pacing and the data-access lapse."""

    supports_pkce = False
    supports_check = True
    supports_lookup = True
    default_scopes: ClassVar[tuple[str, ...]] = login.DEFAULT_SCOPES
    developer_console_url = "https://developers.facebook.com/apps/"
    # Meta signs deauthorize and data-deletion callbacks with this platform's own app secret
    # (views.py serves them at /meta/<platform>/...); False where another platform's app ran the consent.
    signed_callbacks: ClassVar[bool] = True
    # How often a processing video or container is looked at (the engine comes back; no worker
    # waits), and how long Meta may take before the author is told.
    check_delays_s: ClassVar[tuple[float, ...]] = (10, 20, 30, 60)
    processing_limit_s: ClassVar[int] = 2 * 60 * 60

    def graph_origin(self) -> str:
        """Where this provider's Graph calls go ("" for Facebook's Graph): Instagram Login's
        accounts live on graph.instagram.com."""
        return ""

    def api(self, account: AccountState) -> Graph:
        return Graph.of(account.secrets, origin=self.graph_origin())

    # --- Connect ---------------------------------------------------------------------------------

    def authorization_url(
        self, *, app: AppCredentials, redirect_uri: str, state: str, code_verifier: str | None, instance_url: str = ""
    ) -> str:
        login.require_public_site()
        return login.dialog_url(
            app=app, redirect_uri=redirect_uri, state=state, scopes=app.scopes or self.default_scopes
        )

    def exchange_code(
        self, *, app: AppCredentials, code: str, redirect_uri: str, code_verifier: str | None, instance_url: str = ""
    ) -> TokenSet:
        return login.long_lived_token(app=app, code=code, redirect_uri=redirect_uri)

    def connections_from_tokens(self, *, tokens: TokenSet, instance_url: str = "") -> list[Connection]:
        return login.consent_connections(tokens=tokens, page_platform="facebook", instagram_platform="instagram")

    def fetch_profile(self, *, tokens: TokenSet, instance_url: str = "") -> Profile:
        with Graph(tokens.access_token) as api:
            me = api.get("me", fields="id,name")
        return Profile(external_id=required_id(me, what="/me"), username=text_field(me, "name"))

    check_fields: ClassVar[str] = "id,name,username"

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        require_data_access(account)
        with self.api(account) as api:
            found = api.get(account.external_id, fields=self.check_fields)
        return self.profile_of(found, account)

    def profile_of(self, found: Any, account: AccountState) -> Profile:
        name = text_field(found, "name")
        return Profile(
            external_id=required_id(found, what="the account check"),
            username=text_field(found, "username") or name or account.username,
            display_name=name,
        )

    # --- Metrics ---------------------------------------------------------------------------------

    def fetch_metrics(self, *, account: AccountState, platform_post_ids: Iterable[str]) -> dict[str, PostMetrics]:
        """Each post's insights. A post Meta has no numbers for yet (an empty ``data`` array: not
        0), one it no longer has (deleted), or one whose insights are closed (a Story past 24 h
        or with under 5 viewers answers error 10) is left out, not counted as nothing."""
        metrics: dict[str, PostMetrics] = {}
        with self.api(account) as api:
            for post_id in platform_post_ids:
                try:
                    metric = ",".join(self.metrics_for(api, post_id))
                    values = insight_values(api.get(f"{post_id}/insights", metric=metric))
                except ProviderError as exc:
                    if exc.code in self.no_insights_codes:
                        continue
                    raise
                if values:
                    metrics[post_id] = self.metrics_from(values)
        return metrics

    def metrics_hold(self, *, account: AccountState, reserve: float) -> float | None:
        return background_hold(self.usage_budgets(account), reserve=reserve)

    def usage_budgets(self, account: AccountState) -> list[str]:
        """The Meta usage budgets a call for this account counts against (besides the app's)."""
        return [account.external_id]

    post_metrics: ClassVar[tuple[str, ...]] = ()

    def metrics_for(self, api: Graph, post_id: str) -> tuple[str, ...]:
        """The metrics to ask of this post (asking one a post does not have is an error)."""
        return self.post_metrics

    # Errors meaning "this post has no insights to give" rather than a broken account: 100/33,
    # the post is gone. A removed metric (code 100) is our bug and is raised.
    no_insights_codes: ClassVar[frozenset[str]] = frozenset({"100/33"})

    def metrics_from(self, values: dict[str, int]) -> PostMetrics:
        raise NotImplementedError

    supports_account_metrics = True

    def fetch_account_metrics(self, *, account: AccountState) -> AccountMetrics | None:
        """The Page's or the Instagram account's totals; None while Meta has none to give (an
        empty ``data``: not yet, which is not 0)."""
        require_data_access(account)
        with self.api(account) as api:
            return self.account_metrics(api, account)

    def account_metrics(self, api: Graph, account: AccountState) -> AccountMetrics | None:
        raise NotImplementedError

    # --- Pacing ----------------------------------------------------------------------------------

    def paced(self, account: AccountState, part: PartRequest, budgets: list[str]) -> Pending | None:
        return paced(part, budgets)

    def still_processing(self, part: PartRequest, reason: str, **state: Any) -> Pending:
        checks = int(part.state.get("checks", 0)) + 1
        since = float(part.state.get("since") or time.time())
        if time.time() - since > self.processing_limit_s:
            hours = self.processing_limit_s // 3600
            message = f"{reason} for over {hours} h; look at the account before publishing again."
            raise ProviderError(ErrorClass.CONTENT, message, code="processing_timeout")
        delay = self.check_delays_s[min(checks, len(self.check_delays_s)) - 1]
        return Pending(reason=reason, state={**part.state, **state, "checks": checks, "since": since}, check_in_s=delay)


def paced(part: PartRequest, budgets: list[str]) -> Pending | None:
    """Before a create: wait while the app or this account is near Meta's limits, so the user
    never sees "rate limited" (the answers' usage headers said so)."""
    held = usage_hold(budgets)
    if held is None:
        return None
    wait, percent = held
    return Pending(
        reason=f"Pacing: Meta reports {percent:.0f}% of its limit used; waiting before posting",
        state=dict(part.state),
        check_in_s=max(1.0, wait),
    )


def quota_pending(
    data: Any, part: PartRequest, *, usage_key: str, config_key: str, what: str, unit: str, check_in_s: float
) -> Pending | None:
    """A publishing-limit answer (``{"data": [{"quota_usage": 2, "config": {"quota_total":
    50, ...}}]}``) as a wait when the account has used it all; None while there is room, or
    when the answer does not say (Meta then refuses at publish time, and that is mapped too)."""
    items = data.get("data") if isinstance(data, dict) else None
    first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
    config = first.get(config_key)
    used, total = first.get(usage_key), config.get("quota_total") if isinstance(config, dict) else None
    if not isinstance(used, int) or not isinstance(total, int) or used < total:
        return None
    return Pending(
        reason=f"{what} is reached ({used} of {total} {unit} in 24 hours); it goes out when the limit allows",
        state=dict(part.state),
        check_in_s=check_in_s,
    )


def insight_values(data: Any) -> dict[str, int]:
    """``{"data": [{"name": ..., "values": [{"value": 5}]}]}`` as name -> number; a value that
    is an object (a breakdown by type) is added up."""
    found: dict[str, int] = {}
    for metric in data.get("data", []) if isinstance(data, dict) else []:
        values = metric.get("values") if isinstance(metric, dict) else None
        if not isinstance(values, list) or not values or not isinstance(values[-1], dict):
            continue
        found[text_field(metric, "name")] = _count(values[-1].get("value"))
    return found


def account_values(data: Any) -> dict[str, int]:
    """Account insights as name -> number: ``total_value.value`` where Meta totals a metric,
    else the latest of its daily ``values``. A metric Meta left out, or gave no number for, is
    absent (not 0)."""
    found: dict[str, int] = {}
    for metric in data.get("data", []) if isinstance(data, dict) else []:
        if not isinstance(metric, dict):
            continue
        total, values = metric.get("total_value"), metric.get("values")
        if isinstance(total, dict):
            value = total.get("value")
        elif isinstance(values, list) and values and isinstance(values[-1], dict):
            value = values[-1].get("value")
        else:
            continue
        if isinstance(value, int | float | dict) and not isinstance(value, bool):
            found[text_field(metric, "name")] = _count(value)
    return found


def day_window(days: int = 1) -> dict[str, int]:
    """``since`` and ``until`` (unix seconds) for the last ``days`` days of daily insights."""
    until = int(time.time())
    return {"since": until - days * 86400, "until": until}


def picked(values: dict[str, int], names: Iterable[str]) -> dict[str, int]:
    return {name: values[name] for name in names if name in values}


def _count(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, dict):
        return sum(_count(inner) for inner in value.values())
    return 0


def require_data_access(account: AccountState) -> None:
    if login.data_access_lapsed(account.extra):
        raise ProviderError(ErrorClass.AUTH, login.DATA_ACCESS_LAPSED, code="data_access_expired")


def created_recently(value: str, *, now: datetime | None = None) -> bool:
    """Graph times look like 2026-09-01T07:00:00+0000."""
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return False
    return moment >= (now or datetime.now(UTC)) - LOOKUP_WINDOW
