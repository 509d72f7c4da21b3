"""YouTube (Data API v3): Google OAuth with offline access, the channels one consent can upload to,
resumable video uploads, processing, quota in units per Google project, statistics.
See ../shared/reference/platforms-other.md section 4."""
