"""The Scrapy project: spiders, settings, middlewares, items and the crawl configuration."""
