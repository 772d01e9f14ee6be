"""The CombOptNet paper's demonstrations (run from the repository root)."""
