"""Data: the canonical JSONL format, loaders from real clinical formats, and the synthetic suite."""
