"""The offline demo and the replay web it crawls (shared with the tests)."""
