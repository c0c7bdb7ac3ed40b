"""The spiders' callbacks, checked once here for what Scrapy would check on every response.

``WARN_ON_GENERATOR_RETURN_VALUE`` is off in crawler/settings.py (Scrapy re-parses a
callback's source for each response); a generator callback that returns a value would
lose that value silently, so every spider method is checked here instead.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from scrapy import Spider
from scrapy.utils.misc import is_generator_with_return_value

import crawler.spiders


def spider_methods():
    for info in pkgutil.iter_modules(crawler.spiders.__path__):
        module = importlib.import_module(f"crawler.spiders.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Spider) and cls.__module__ == module.__name__:
                for name, function in vars(cls).items():
                    if inspect.isfunction(function):
                        yield f"{cls.__name__}.{name}", function


def test_no_spider_generator_returns_a_value():
    methods = dict(spider_methods())
    assert len(methods) >= 10  # the news, urls and worker spiders' methods were found
    offenders = [name for name, function in methods.items() if is_generator_with_return_value(function)]
    assert offenders == []

