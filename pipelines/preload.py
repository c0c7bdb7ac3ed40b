"""Imported once by the extraction pool's forkserver, before it forks any worker.

multiprocessing's ``forkserver`` start method imports the modules named by
``set_forkserver_preload`` in the forkserver process, and every worker is then a ``fork``
of it (Python's documented behaviour): what is loaded here is shared by all the workers
copy-on-write instead of loaded by each. That is the extraction's modules and models
(:func:`pipelines.extraction.warm_up`), datasketch's MinHash without the rest of its
package (the workers make the signatures: :func:`archive.similarity.minhash_class`), and
what the libraries otherwise build on the first page that needs it: the stop list of
trafilatura's jusText fallback with jusText's cached set of it (every language's stop
words, about 30 MB), htmldate's dateparser with its languages' patterns (about 15 MB)
and the month names of every dateparser language (``htmldate.extractors.month_words``,
about 7 MB; :func:`pipelines.extraction.dating._dateparser_for_month_names_only`). Without
this a worker held about 230 MiB of its own.

``gc.freeze()`` then keeps the collector from writing to those objects' headers, which
would copy their pages into each worker (Python documents it for this use before a fork).
A replaced worker starts at once: nothing is left to load.

The forkserver ignores SIGINT from its first line here: a Ctrl-C on the terminal reaches
every process of its group, and CPython's forkserver ignores it only once the preloading
is done (``multiprocessing.forkserver.main``), so one pressed while it loads printed a
``KeyboardInterrupt`` traceback from this import. The crawl's own process stops the run
and its workers.
"""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)

import gc  # noqa: E402 - after the signal is ignored

from htmldate import extractors as htmldate_extractors  # noqa: E402
from justext import core as justext_core
from trafilatura import external as trafilatura_external

import pipelines.jobs  # noqa: F401 - the job function the workers run (run_job)
from archive.similarity import minhash_class
from pipelines.extraction import warm_up

minhash_class()
warm_up()
# jusText caches the set its classifier uses (lru_cache on the stop list trafilatura passes)
justext_core.define_stoplist(trafilatura_external.JT_STOPLIST or trafilatura_external.jt_stoplist_init())
htmldate_extractors.get_external_parser().get_date_data("2 May 2024")
htmldate_extractors.month_words()  # an lru_cache: read once
gc.freeze()
