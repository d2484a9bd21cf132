"""Benchmarks and the local harness they share with the end-to-end tests."""
