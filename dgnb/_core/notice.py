"""Telling the user something worth knowing, once, without alarming them.

In a Jupyter kernel a small HTML note is displayed (JupyterLab shows stderr in a pink box that reads as
an error); elsewhere the text goes to the ``dgnb`` logger at INFO, which a script shows only when it
configures logging.

    >>> from dgnb._core.notice import notice
    >>> notice("the local engine is running", key="doc-example")  # logged (no kernel here)
"""
from __future__ import annotations

import html
import logging

log = logging.getLogger("dgnb")
_shown: set[str] = set()


def in_kernel() -> bool:
    """True inside a Jupyter (IPython) kernel."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def notice(text: str, *, key: str) -> None:
    """Say ``text`` once per process for ``key``: an HTML note in a notebook, else an INFO log line."""
    if key in _shown:
        return
    _shown.add(key)
    if in_kernel():
        from IPython.display import HTML, display

        display(HTML('<div style="font-size:0.85em;color:#555;border-left:3px solid #8ab4f8;padding:2px 8px">'
                     f"{html.escape(text)}</div>"))
    else:
        log.info(text)
