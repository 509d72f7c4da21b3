"""X (API v2): OAuth 2.0 with PKCE, posts and threads, media upload v2, metrics."""
