"""A deliberately broken combopt plugin: its import fails, as a plugin with a missing
dependency would."""

import combopt_missing_dependency_for_tests  # noqa: F401
