"""Speed benchmarks of cpm-analysis: ``python -m benchmarks --customers 1000000``."""
