"""Mastodon: one OAuth client per server, registered on first connect, and statuses by its REST API.

``client`` speaks HTTP to one server and classifies its failures, ``schema`` checks the JSON it
returns, and ``provider`` is what the rest of Postwright calls.
"""
