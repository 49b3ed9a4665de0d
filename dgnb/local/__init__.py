"""The embedded local engine: a server that speaks Deepgram's wire protocol on local models.

It never imports the client layers (``dgnb.*`` outside ``dgnb.local``).
"""
