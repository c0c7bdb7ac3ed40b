"""Scrapy settings of newsarchive: Scrapy's defaults overridden where an archiver needs it.

Each override says why. newsarchive's own settings are prefixed ``ARCHIVE_`` and named
with their unit. The crawl config's ``[crawl]`` table (user agent, contact, delay) is
applied on top of these by the ``news`` spider.
"""

from archive.schedule import DEFAULT_STEPS_TEXT
from crawler.useragent import user_agent

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# -- newsarchive -------------------------------------------------------------------
#: Path of the SQLite archive the crawl writes to.
ARCHIVE_DB = "archive.db"
#: Let every request reach loopback/private addresses (the CLI's --allow-private).
ARCHIVE_ALLOW_PRIVATE = False
#: The command recorded in ``crawls.command``.
ARCHIVE_COMMAND = "crawl"
#: A ``crawls`` row started by the caller (the CLI), or 0 for the store pipeline to start one.
ARCHIVE_CRAWL_ID = 0
#: Also write every capture to this WARC file during the crawl (the config's ``warc``), or "".
ARCHIVE_WARC = ""
#: The caller holds the archive's crawl lock (newsarchive crawl); else the news spider takes it.
ARCHIVE_LOCK_HELD = False
#: After SIGINT/SIGTERM, how long downloads under way may take to finish, seconds
#: (crawler.stopping): the process exits within about this plus a second.
ARCHIVE_STOP_GRACE_SECS = 2.0
#: The command installs the signal handlers (newsarchive.runner); else, as under
#: ``scrapy crawl news``, the StopOnSignal extension does.
ARCHIVE_STOP_BY_COMMAND = False
#: The revisit schedule (the config's ``revisit_steps``; the news spider sets it).
ARCHIVE_REVISIT_STEPS = list(DEFAULT_STEPS_TEXT)
#: Learn a site's template at the end of a run once it has this many stories new since its
#: latest template (the config's ``template_min_stories``; 0: never). pipelines/templates.py.
ARCHIVE_TEMPLATE_MIN_STORIES = 8
#: Train a site's compression dictionary at the end of a finished run once it has this many
#: stored story bodies (and twice as many as at its latest dictionary); 0: never.
#: archive/bodies.py, Archive.train_dictionaries.
ARCHIVE_DICTIONARY_MIN_BODIES = 32
#: Worker processes that extract pages (pipelines.workers): None = one per CPU core the
#: crawl may use; 0 = extract in the crawl's own process (no time limit possible there).
ARCHIVE_EXTRACT_WORKERS = None
#: Time limit of one page's extraction in a worker, seconds; the page then fails as
#: ``extract_timeout`` (60 real pages of ../shared/data took 12 ms each on average on a loaded
#: 2-core machine; a page of 100,000 attributes on one element takes minutes).
ARCHIVE_EXTRACT_TIMEOUT_SECS = 20

# -- a crawl shared by workers over Redis (crawler.distributed) ---------------------
#: The prefix of the crawl's Redis keys (several crawls may share one Redis).
ARCHIVE_REDIS_PREFIX = "newsarchive"
#: How long a worker's lease on a request lasts without renewal, seconds: the requests of a
#: worker that died return to the queue after this (a live worker renews every third of it).
ARCHIVE_REDIS_LEASE_SECS = 60.0
#: Items in the stream not yet stored by the writer beyond which workers wait (back-pressure).
ARCHIVE_REDIS_STREAM_MAX_ITEMS = 1000
#: How long workers and the writer wait for a lost Redis to answer again, seconds; then they
#: stop, the run recorded ``interrupted`` (exit 1), the archive intact.
ARCHIVE_REDIS_WAIT_SECS = 30.0

# -- identity and politeness -------------------------------------------------------
USER_AGENT = user_agent()  # the config's [crawl] contact is added by the news spider
ROBOTSTXT_OBEY = True
# robots.txt groups are matched on the product token alone (RFC 9309 2.2.1), never on the
# rest of the User-Agent (its contact string); the news spider sets the config's own.
ROBOTSTXT_USER_AGENT = "newsarchive"
# RFC 9309 groups, rules and Sitemap lines (Protego, Scrapy's default, differs: crawler.robots)
ROBOTSTXT_PARSER = "crawler.robots.RFC9309RobotParser"
# One request at a time per host, adapted to the server's latency.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
# Outputs of one response processed at a time. Scrapy 2.13+ starts this many asyncio tasks
# for every response whatever it yields (scrapy.utils.asyncio._parallel_asyncio); a page
# yields one item, a feed or sitemap requests that are only scheduled, and responses are
# still processed side by side. At Scrapy's 100 the tasks cost the crawl process about 3 ms
# of CPU a page (benchmarks/crawl.py).
CONCURRENT_ITEMS = 4
DOWNLOAD_DELAY = 1.0
# delay_secs is a minimum between two requests to one host: no random variation below it
# (Scrapy's default jitter is +-50%).
DOWNLOAD_DELAY_JITTER = 0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
# A news archive needs no cookies; sending none keeps captures free of session state.
COOKIES_ENABLED = False

# -- limits sane for news pages (Scrapy's are 1 GiB and 180 s) -----------------------
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 2
# A body cut short (Content-Length not reached, a broken chunk, a reset) fails and is
# retried: never archived as complete (Scrapy's default, pinned here on purpose).
DOWNLOAD_FAIL_ON_DATALOSS = True
REDIRECT_MAX_TIMES = 10
# Meta refreshes of at most 5 s are followed (within REDIRECT_MAX_TIMES), never one inside
# <noscript>; a refresh to the page itself is the page (crawler.middlewares).
METAREFRESH_MAXDELAY = 5
METAREFRESH_IGNORE_TAGS = ["noscript"]
URLLENGTH_LIMIT = 2083  # also checked on URLs given by hand (crawler.config.url_problem)
DEPTH_LIMIT = 12

# Scrapy re-reads and parses each callback's source for every response to warn about a
# generator returning a value (its cache misses on bound methods): about 2% of the crawl
# process's CPU. Our callbacks are checked once by tests/test_spiders_source.py instead.
WARN_ON_GENERATOR_RETURN_VALUE = False

# -- attack surface off ------------------------------------------------------------
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
# Only http and https are fetched: no file://, data:, s3:// or ftp:// from a page or feed.
# http(s): Scrapy's handler, keeping the body that arrived when a download of unannounced
# length (no Content-Length) times out on a connection the server holds open
# (crawler.download; Scrapy drops those bytes).
DOWNLOAD_HANDLERS = {
    "file": None, "data": None, "s3": None, "ftp": None,
    "http": "crawler.download.KeepArrivedDownloadHandler",
    "https": "crawler.download.KeepArrivedDownloadHandler",
}
# TLS certificates are verified like a browser does (Scrapy's default accepts any, even a
# self-signed one): a site that cannot prove who it is is a `tls` failure, not a capture.
DOWNLOAD_VERIFY_CERTIFICATES = True

# -- the archive is the crawl's memory (no HTTP cache, no JOBDIR) ---------------------
HTTPCACHE_ENABLED = False
# Error responses (404, 410, 5xx) reach the spider's errback, which archives them.
HTTPERROR_ALLOW_ALL = False

#: Caps on waits asked by sites: robots.txt Crawl-delay, and Retry-After of 429/503 answers
#: (a longer Retry-After defers the host to the next run: crawler.politeness.HostPacing).
ARCHIVE_CRAWL_DELAY_MAX_SECS = 60
ARCHIVE_RETRY_AFTER_MAX_SECS = 300

DOWNLOADER_MIDDLEWARES = {
    # Before everything else, so that robots.txt requests are checked too.
    "crawler.middlewares.PrivateAddressGuard": 50,
    # RFC 9309: an unreachable or 5xx robots.txt disallows the host (Scrapy's allows it).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.politeness.RobotsTxtRFC9309Middleware": 100,
    # A redirect to a URL fetched already is followed anyway: its source is an alias.
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.AliasKeepingRedirectMiddleware": 600,
    # The same rules for <meta http-equiv=refresh> (same budget, offsite, no self-refresh).
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.ArchiveMetaRefreshMiddleware": 580,
    # Scrapy's retries, each logged at INFO (which URL was fetched again, and why).
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.LoggedRetryMiddleware": 550,
    # Sees 429/503 answers before RetryMiddleware (550) schedules their retry.
    "crawler.politeness.HostPacing": 560,
    # Sees the raw body before HttpCompressionMiddleware (590) decodes it: a compressed
    # stream cut short is flagged `partial` (Scrapy's decoders return what they can).
    "crawler.middlewares.TruncatedEncodingMiddleware": 595,
}

SPIDER_MIDDLEWARES = {
    # Sees each callback's output last (after depth and URL-length filters): the article
    # URLs it discovered go to the archive's frontier before they are scheduled.
    "crawler.frontier.FrontierMiddleware": 10,
}

EXTENSIONS = {
    # SIGINT/SIGTERM under `scrapy crawl news` stop as under `newsarchive crawl` (crawler.stopping)
    "crawler.stopping.StopOnSignal": 0,
    # AutoThrottle, with a 304 counted as the full answer it is (a revisit run's pace)
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawler.politeness.RevisitAutoThrottle": 0,
}

ITEM_PIPELINES = {
    "pipelines.templates.TemplatePipeline": 50,
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.identify.IdentifyPipeline": 200,
    "pipelines.version.VersionPipeline": 300,
    "pipelines.store.StorePipeline": 900,
    # off unless ARCHIVE_WARC is set (the config's [crawl] warc)
    "pipelines.warc.WarcPipeline": 950,
}

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
