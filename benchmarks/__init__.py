"""Benchmark scripts: they print figures (speed, memory, quality); tests never time anything."""
