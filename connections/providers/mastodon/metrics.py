"""Mastodon's metric names -> ours: the mapping table analytics stores them by.

Post counts come from GET /api/v1/statuses/:id (as the home server sees them: remote
interactions may be missing), account totals from GET /api/v1/accounts/verify_credentials.
Mastodon has no view counts; ``quotes_count`` exists from 4.5 on."""

METRIC_NAMES = {
    "favourites_count": "likes",
    "reblogs_count": "reposts",
    "replies_count": "replies",
    "quotes_count": "quotes",
}
ACCOUNT_METRIC_NAMES = {
    "followers_count": "followers",
    "following_count": "following",
    "statuses_count": "posts_count",
}
