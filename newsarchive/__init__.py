"""The ``newsarchive`` command: the one package that sees every layer.

Layers point down only (README, "How the code is laid out"): ``archive`` (imports
nothing of ours) <- ``crawler`` <- ``pipelines`` <- ``newsarchive`` (this package).
"""
