"""Bluesky's metric names -> ours: the mapping table analytics stores them by.

Post counts come from app.bsky.feed.getPosts (a PostView), account totals from
app.bsky.actor.getProfile (a ProfileViewDetailed). Bluesky publishes no view counts."""

METRIC_NAMES = {
    "likeCount": "likes",
    "repostCount": "reposts",
    "replyCount": "replies",
    "quoteCount": "quotes",
    "bookmarkCount": "saves",  # newer AppViews only
}
ACCOUNT_METRIC_NAMES = {
    "followersCount": "followers",
    "followsCount": "following",
    "postsCount": "posts_count",
}
