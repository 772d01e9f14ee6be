"""The backend conformance suite: the same checks on every available backend."""
