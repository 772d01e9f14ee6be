"""The backend conformance suite: combopt's conformance kit (``combopt_core.testing``) run on
every installed backend, and what only one backend does."""
