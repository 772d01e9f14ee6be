"""Reliability tests (issue 8): one module per area; each fails when its guard is removed."""
