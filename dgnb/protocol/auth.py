"""How credentials travel on the wire.

>>> "authorization" in CREDENTIAL_HEADERS
True
"""
from __future__ import annotations

#: Headers whose value is a credential (lower case): an API key or token in ``Authorization``, or in
#: ``Sec-WebSocket-Protocol`` (``token, <key>``) where a browser cannot set headers. Never logged.
CREDENTIAL_HEADERS = frozenset({"authorization", "sec-websocket-protocol", "cookie"})
