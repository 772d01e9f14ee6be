"""The CombOptNet paper's demonstrations, run from the repository root as ``python -m demos``.

Not installed with the library: datasets live in ``demos/data``, results go to ``docs/``.
"""
