"""A Django-free streaming layer: provider adapters, the event vocabulary, retry policy,
token counting and the sliding window."""
