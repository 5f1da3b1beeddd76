"""Analyses of the benchmarks themselves (not of a model's answers): which benchmark
problems a training set or another benchmark already holds."""
