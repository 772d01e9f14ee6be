"""Tests of the fast-batch features: executors, model reuse, cache, pool, Ray, backward blocks."""
