"""The conformance kit on every backend ``list_backends()`` reports, exactly as a plugin
author runs it (``pytest --combopt-backend NAME``); the tests are the kit's own.

Backends that cannot run here are skips with the reason; each backend's limits come from its
``BackendSpec``.
"""

from combopt_core.testing.conformance import *  # the kit's tests, collected here
