"""The paper's demonstrations and benchmarks (run from the repository root)."""
