"""In-memory adapters for every port: offline development and fast tests.

They are small but real: the same contract suites run against them and the real ones.
"""
