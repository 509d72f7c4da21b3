"""Meta's platforms on the Graph API: Facebook Pages and Instagram (through Facebook Login).

One package, two registry lines: ``graph`` (hosts, version, appsecret_proof, the error object,
usage headers), ``login`` (Facebook Login: tokens, permissions, Pages and their Instagram
accounts), ``shared`` (the providers' common base), ``facebook`` and ``instagram``
(publishing). See ../shared/reference/platforms-meta.md.
"""
