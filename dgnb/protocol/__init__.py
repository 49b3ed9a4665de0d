"""Wire facts of the Deepgram API that the client and the local engine share, declared once.

Pure data: this package imports nothing of dgnb, so both sides can depend on it.
"""
