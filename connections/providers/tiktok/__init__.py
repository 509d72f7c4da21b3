"""TikTok (Content Posting API, Direct Post; Display API for metrics): OAuth v2, creator_info
before each post, chunked FILE_UPLOAD or PULL_FROM_URL, status polled while TikTok processes.
See ../shared/reference/platforms-other.md section 3 and platforms-google-snap.md section 3."""
