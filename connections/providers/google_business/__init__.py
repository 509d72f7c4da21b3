"""Google Business Profile: local posts (standard, event, offer) on the locations one Google
consent manages, through the My Business v4 API; locations through the Account Management and
Business Information v1 APIs; insights through the Performance API.
See ../shared/reference/platforms-google-snap.md section 1."""
