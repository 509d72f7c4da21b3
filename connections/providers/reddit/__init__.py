"""Reddit: subreddit posts (text, link, image, video), comments, flair, NSFW and spoiler."""
