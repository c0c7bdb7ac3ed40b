"""Spiders: ``news`` (scheduled crawls from a config file) and ``urls`` (ad hoc archiving)."""
