"""Item pipelines: extract -> identify -> version -> store (each one job).

The stages are plain Scrapy item pipelines (see ``crawler/settings.py``); each holds its
rules in a library module beside it (``pipelines/extraction``, 
``pipelines/content.py``) so that the CLI and tests use the same rules without a crawl.
"""
