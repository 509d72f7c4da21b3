"""The provider contract suite: every platform's tests subclass ProviderContract.

A subclass names its provider and supplies recorded platform responses (in the platforms' real
shapes, from ../shared/reference/) through the ``mock_*`` hooks; the suite then runs the same
connect, health-check, refresh, revoke, error-classification and publish tests on every
platform. Hooks a platform cannot support are left as they are and their tests skip.
"""

from collections.abc import Callable

import pytest
import responses

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountState,
    AppCredentials,
    Connection,
    ContentPart,
    Provider,
    PublishRequest,
    TextRules,
)
from connections.registry import get_provider
from tests.connections.publishing import publish_all

APP = AppCredentials(client_id="client-123", client_secret="secret-456", scopes=(), source="instance")


class ProviderContract:
    provider_id: str

    # --- hooks a provider's test class supplies ------------------------------------------------

    def connect(self) -> list[Connection]:
        """Mock the connect step's responses and perform it (code exchange or credential form)."""
        raise NotImplementedError

    def account(self) -> AccountState:
        """A connected account's state as stored after ``connect``."""
        raise NotImplementedError

    def mock_check(self) -> None:
        raise NotImplementedError

    def mock_refresh(self) -> None:
        """Register a successful refresh response (only for providers that refresh)."""
        raise NotImplementedError

    def mock_revoke(self) -> None:
        raise NotImplementedError

    def error_cases(self) -> list[tuple[str, Callable[[], None], ErrorClass]]:
        """(label, register a failing response for the check call, expected class)."""
        return []

    def mock_publish_text(self) -> str:
        """Register responses for publishing a text post; return the expected platform post id."""
        raise NotImplementedError

    # --- the suite ----------------------------------------------------------------------------

    @pytest.fixture
    def provider(self, db, settings) -> Provider:
        settings.DEMO_NETWORK_ENABLED = True
        return get_provider(self.provider_id)

    def _require(self, hook: Callable) -> None:
        try:
            hook()
        except NotImplementedError:
            pytest.skip(f"{self.provider_id} does not supply {hook.__name__}")

    def test_registered_with_a_name(self, provider):
        assert provider.id == self.provider_id
        assert provider.name

    def test_connect_yields_a_profile_and_secrets(self, provider):
        connections = self.connect()
        assert connections, "connect must yield at least one account"
        for connection in connections:
            assert connection.profile.external_id
            assert connection.profile.username
            assert connection.secrets, "an account without secrets cannot act"

    def test_check_returns_the_profile(self, provider):
        self._require(self.mock_check)
        profile = provider.check(app=APP, account=self.account())
        assert profile.username

    def test_refresh_returns_new_tokens(self, provider):
        if not provider.supports_refresh:
            pytest.skip("no refresh")
        self._require(self.mock_refresh)
        tokens = provider.refresh(app=APP, account=self.account())
        assert tokens.access_token

    def test_revoke_calls_the_platform(self, provider):
        if not provider.supports_revoke:
            pytest.skip("no revocation")
        self._require(self.mock_revoke)
        provider.revoke(app=APP, account=self.account())
        assert responses.calls, "revoke must reach the platform"

    def test_errors_are_classified(self, provider):
        cases = self.error_cases()
        if not cases:
            pytest.skip("no recorded error cases")
        for label, register, expected in cases:
            responses.reset()
            register()
            with pytest.raises(ProviderError) as caught:
                provider.check(app=APP, account=self.account())
            assert caught.value.error_class == expected, label
            assert caught.value.message, f"{label}: the platform's message must be kept"

    def test_text_rules(self, provider):
        try:
            rules = provider.text_rules(account=self.account())
        except NotImplementedError:
            pytest.skip("no text rules yet")
        assert isinstance(rules, TextRules)
        assert rules.max_length > 0

    def test_publish_text(self, provider):
        try:
            expected_id = self.mock_publish_text()
        except NotImplementedError:
            pytest.skip("publishing not recorded yet")
        result = publish_all(
            provider,
            account=self.account(),
            request=PublishRequest(main=ContentPart(text="Hello"), idempotency_key="t-1"),
        )
        assert result.main.platform_post_id == expected_id
        assert result.main.url
