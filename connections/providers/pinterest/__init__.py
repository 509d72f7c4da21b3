"""Pinterest (API v5): boards, image, carousel and video pins."""
