"""The library's logger, ``logging.getLogger("combopt")``.

combopt reports what it decided (which backend a call uses, a plugin that failed to load)
through this logger instead of printing. Like every library logger it has only a
``NullHandler``: nothing is shown until the application configures logging, e.g.
``logging.basicConfig(level=logging.DEBUG)`` or ``combopt --verbose ...``. Warnings about
results (instances flagged ``Status.ERROR``) stay ``warnings.warn`` so that they are seen.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("combopt")
logger.addHandler(logging.NullHandler())
