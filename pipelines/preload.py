"""Imported once by the extraction pool's forkserver, before it forks any worker.

multiprocessing's ``forkserver`` start method imports the modules named by
``set_forkserver_preload`` in the forkserver process, and every worker is then a ``fork``
of it (Python's documented behaviour): what is loaded here, the extraction's modules and
its models (py3langid's, trafilatura's and jusText's lazily loaded parts, and datasketch with SciPy), is shared by
all the workers copy-on-write instead of loaded by each (about 230 MiB a worker, of which
about 100 MiB the models). ``gc.freeze()`` keeps the collector from writing to those
objects' headers, which would copy their pages into each worker (Python documents it for
this use before a fork). A replaced worker starts at once: nothing is left to load.
"""

import gc

from datasketch import MinHash  # noqa: F401 - the workers make the MinHash signatures (archive.similarity)

import pipelines.extract  # noqa: F401 - the job function the workers run (run_job)
from pipelines.extraction import warm_up

warm_up()
gc.freeze()
