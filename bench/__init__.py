"""Benchmarks (not tests): each compares migdocs with the floor it is measured against."""
