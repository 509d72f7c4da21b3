"""Bluesky: the provider (provider.py), its XRPC client and session handling (client.py), repository
records and blobs (repo.py), rich-text facets (richtext.py), record keys (tid.py), link cards
(cards.py) and the connect form (forms.py)."""
