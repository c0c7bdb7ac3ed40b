"""Per-site compression dictionaries (issue 16): trained on a site's earlier captures only,
bodies compressed with them and read back exactly, redaction takes a dictionary out with
the bodies it was trained on, re-extraction and WARC export read them.

The ratio itself is measured by ``python -m benchmarks.storage``."""

from __future__ import annotations

import io
import json
import random

import pytest

from archive import bodies
from archive.database import Archive
from archive.records import CaptureRecord, SnapshotRecord
from archive.redaction import find_articles, redact

WORDS = ("harbour council library budget vote pier storm board region spring money dredging town reading room archive "
         "newspaper children corner debate hours opening plan fund years groups praised").split()  # fmt: skip


def story_page(n: int, site: str = "one") -> bytes:
    """A page of ``site``: one template (head, navigation, footer, scripts) around a story of its own."""
    rng = random.Random(n)
    story = "".join(f"<p>{' '.join(rng.choice(WORDS) for _ in range(60))}.</p>" for _ in range(6))
    nav = "".join(f'<li><a href="/{site}/section/{i}">Section {i} of the {site} paper</a></li>' for i in range(40))
    scripts = "".join(f"<script>window.{site}Config{i} = {{tracking: 'on', slot: {i}, layout: 'wide'}};</script>" for i in range(30))
    return (
        f"<!DOCTYPE html><html><head><title>Story {n}</title>{scripts}</head><body><nav><ul>{nav}</ul></nav>"
        f"<article><h1>Story {n} of {site}</h1>{story}</article><footer>{nav}</footer></body></html>"
    ).encode()


def store(archive: Archive, n: int, site: str = "one", body: bytes | None = None) -> str:
    url = f"http://{site}.example/story/{n}"
    body = body if body is not None else story_page(n, site)
    capture = CaptureRecord(url=url, final_url=url, fetched_at=f"2024-03-01T10:{n // 60:02d}:{n % 60:02d}Z", status=200,
                            body=body, site=site, content_type="text/html")  # fmt: skip
    snapshot = SnapshotRecord(canonical_url=url, content_hash=bodies.digest(body), title=f"Story {n}", text=f"Story {n}", extractor="test")
    crawl = archive.start_crawl("test")
    archive.record_capture(crawl, capture, snapshot)
    archive.finish_crawl(crawl, "finished", {})
    return bodies.digest(body)


def codecs(archive: Archive, digests: list[str]) -> list[str]:
    return [archive.db.execute("SELECT codec FROM bodies WHERE digest = ?", [d]).fetchone()[0] for d in digests]


def test_a_dictionary_is_trained_on_earlier_captures_and_compresses_later_ones(tmp_path):
    with Archive.open(tmp_path / "a.db") as archive:
        earlier = [store(archive, n) for n in range(12)]
        assert archive.train_dictionaries(min_bodies=13) == []  # too few bodies yet
        (trained,) = archive.train_dictionaries(min_bodies=12)
        assert trained["site"] == "one" and trained["samples"] == 12
        row = archive.db.execute("SELECT samples, size, length(data) FROM dictionaries").fetchone()
        assert sorted(json.loads(row[0])) == sorted(earlier) and row[1] == trained["size"] and row[2] < row[1]
        later = [store(archive, n) for n in range(12, 20)]
        other = store(archive, 100, site="two")  # another site: no dictionary of its own
        assert codecs(archive, earlier) == ["zstd"] * 12  # stored before: left as they are
        assert codecs(archive, later) == ["zstd-dict"] * 8
        assert codecs(archive, [other]) == ["zstd"]
        # smaller than each body on its own, and read back exactly
        for digest, n in zip(later, range(12, 20), strict=True):
            body = story_page(n)
            stored = archive.db.execute("SELECT length(data) FROM bodies WHERE digest = ?", [digest]).fetchone()[0]
            assert stored < len(bodies.compress_full(body))
            assert archive.read_body(digest) == body
        # a new dictionary only when the site has twice the bodies it had
        assert archive.train_dictionaries(min_bodies=12) == []
        for n in range(20, 24):
            store(archive, n)
        (again,) = archive.train_dictionaries(min_bodies=12, samples=16)
        assert again["samples"] == 16 and again["id"] > trained["id"]
        assert archive.db.execute("SELECT dictionary_id FROM bodies WHERE digest = ?", [store(archive, 24)]).fetchone()[0] == again["id"]


def test_a_dictionary_body_without_its_dictionary_is_an_error():
    dictionary = bodies.train([story_page(n) for n in range(12)])
    codec, data = bodies.compress(story_page(50), dictionary=dictionary)
    assert codec == "zstd-dict"
    assert bodies.decompress(codec, data, dictionary=dictionary) == story_page(50)
    with pytest.raises(bodies.CodecError, match="needs its dictionary"):
        bodies.decompress(codec, data)
    with pytest.raises(bodies.CodecError, match="no dictionary trained from 1 samples"):
        bodies.train([b"<p>one</p>"])


def test_redaction_takes_out_the_dictionaries_trained_on_its_bodies(tmp_path):
    with Archive.open(tmp_path / "a.db") as archive:
        for n in range(12):
            store(archive, n)
        archive.train_dictionaries(min_bodies=12)
        later = [store(archive, n) for n in range(12, 16)]
        assert codecs(archive, later) == ["zstd-dict"] * 4
        redact(archive, find_articles(archive, url="http://one.example/story/3"), "an erasure request")
        assert archive.db.execute("SELECT count(*) FROM dictionaries").fetchone()[0] == 0
        assert codecs(archive, later) == ["zstd"] * 4  # compressed again on their own
        assert [archive.read_body(d) for d in later] == [story_page(n) for n in range(12, 16)]
        assert codecs(archive, [store(archive, 16)]) == ["zstd"]  # no dictionary left to use


def test_warc_export_and_reextraction_read_dictionary_bodies(tmp_path):
    from warcio.archiveiterator import ArchiveIterator

    from archive.warcwriter import export_archive
    from pipelines.reextract import reextract

    with Archive.open(tmp_path / "a.db") as archive:
        for n in range(12):
            store(archive, n)
        archive.train_dictionaries(min_bodies=12)
        later = store(archive, 12)
        assert codecs(archive, [later]) == ["zstd-dict"]
        out = io.BytesIO()
        export_archive(archive, out, "a.warc.gz")
        out.seek(0)
        payloads = [r.content_stream().read() for r in ArchiveIterator(out) if r.rec_type == "response"]
        assert story_page(12) in payloads and len(payloads) == 13
        counts = reextract(archive)
        assert counts["failed"] == 0 and counts["articles"] == 13


@pytest.mark.parametrize(("reason", "trained"), [("finished", 1), ("shutdown", 0)])
def test_the_store_pipeline_trains_at_the_end_of_a_finished_run(tmp_path, reason, trained):
    from pipelines.store import StorePipeline

    pipeline = StorePipeline(str(tmp_path / "a.db"), dictionary_min_bodies=12)
    pipeline.open_spider()
    for n in range(12):
        store(pipeline.archive, n)
    pipeline.spider_closed(None, reason)
    with Archive.open(tmp_path / "a.db") as archive:
        assert archive.db.execute("SELECT count(*) FROM dictionaries").fetchone()[0] == trained


def test_the_store_pipeline_trains_in_the_crawls_extraction_workers(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from pipelines.jobs import run_job
    from pipelines.store import StorePipeline
    from pipelines.workers import ExtractionPool

    def not_here(samples, size=bodies.DICTIONARY_SIZE):
        raise AssertionError("trained in the crawl's process")

    monkeypatch.setattr(bodies, "train", not_here)  # here only: the workers are forked from a fresh forkserver
    with ExtractionPool(1, None, job=run_job) as pool:
        crawler = SimpleNamespace(stats=None, extraction_pool=pool)
        pipeline = StorePipeline(str(tmp_path / "a.db"), crawler=crawler, dictionary_min_bodies=12)
        pipeline.open_spider()
        for n in range(12):
            store(pipeline.archive, n)
        pipeline.spider_closed(None, "finished")
    with Archive.open(tmp_path / "a.db") as archive:
        assert archive.db.execute("SELECT site, json_array_length(samples) FROM dictionaries").fetchall() == [("one", 12)]


def test_a_site_the_workers_could_not_train_is_logged_and_left_for_a_later_run(tmp_path, caplog):
    from types import SimpleNamespace

    from pipelines.store import StorePipeline
    from pipelines.workers import ExtractResult

    class DyingPool:  # ExtractionPool.map's contract: a worker that died is an ExtractResult with the error
        def map(self, jobs, function, *, timed=True, in_flight=None):
            for packed in jobs:  # samples as bodies.pack_bodies makes them
                died = ExtractResult(error=("extract_crash", "the extraction worker died (exit code -9)"))
                yield died if b"two" in next(bodies.unpacked(packed)) else function(packed)

    pipeline = StorePipeline(str(tmp_path / "a.db"), crawler=SimpleNamespace(stats=None, extraction_pool=DyingPool()), dictionary_min_bodies=12)
    pipeline.open_spider()
    for n in range(12):
        store(pipeline.archive, n)
        store(pipeline.archive, n, site="two")
    with caplog.at_level("INFO", logger="archive.database"):
        pipeline.spider_closed(None, "finished")
    with Archive.open(tmp_path / "a.db") as archive:
        assert archive.db.execute("SELECT site FROM dictionaries").fetchall() == [("one",)]
    assert "no compression dictionary for two: the extraction worker died (exit code -9)" in caplog.text


def test_a_worker_compresses_with_the_dictionary_and_the_archive_checks_it(tmp_path):
    from crawler.options import ExtractOptions
    from pipelines.jobs import run_job
    from pipelines.workers import ExtractJob

    with Archive.open(tmp_path / "a.db") as archive:
        for n in range(12):
            store(archive, n)
        archive.train_dictionaries(min_bodies=12)
        _, dictionary = archive.site_dictionary("one")
        body = story_page(12)
        job = ExtractJob(body, "http://one.example/story/12", "text/html", ExtractOptions(), None, "2024-03-01T11:00:00Z",
                         precompute=True, dictionary=dictionary)  # fmt: skip
        made = run_job(job).compressed_dictionary
        assert bodies.decompress("zstd-dict", made, dictionary=dictionary) == body
        # made with the site's dictionary: stored as it is
        url = "http://one.example/story/12"
        capture = CaptureRecord(url=url, final_url=url, fetched_at="2024-03-01T11:00:00Z", status=200, body=body, site="one",
                                content_type="text/html", compressed_dictionary=made)  # fmt: skip
        snapshot = SnapshotRecord(canonical_url=url, content_hash=bodies.digest(body), title="Story 12", text="Story 12", extractor="test")
        archive.record_capture(archive.start_crawl("test"), capture, snapshot)
        assert archive.db.execute("SELECT codec, data FROM bodies WHERE digest = ?", [bodies.digest(body)]).fetchone() == ("zstd-dict", made)
        # made with another dictionary (or for another body): compressed again, read back exactly
        other = story_page(13)
        wrong = bodies.compress_with(other, bodies.train([story_page(n, "two") for n in range(12)]))
        url = "http://one.example/story/13"
        capture = CaptureRecord(url=url, final_url=url, fetched_at="2024-03-01T11:01:00Z", status=200, body=other, site="one",
                                content_type="text/html", compressed_dictionary=wrong)  # fmt: skip
        snapshot = SnapshotRecord(canonical_url=url, content_hash=bodies.digest(other), title="Story 13", text="Story 13", extractor="test")
        archive.record_capture(archive.start_crawl("test"), capture, snapshot)
        codec, data = archive.db.execute("SELECT codec, data FROM bodies WHERE digest = ?", [bodies.digest(other)]).fetchone()
        assert (codec, data) == ("zstd-dict", bodies.compress_with(other, dictionary)) and data != wrong
        assert archive.read_body(bodies.digest(other)) == other


def test_the_template_stage_hands_each_page_its_sites_dictionary(tmp_path):
    from crawler.items import PageItem
    from pipelines.templates import TemplatePipeline

    with Archive.open(tmp_path / "a.db") as archive:
        for n in range(12):
            store(archive, n)
        archive.train_dictionaries(min_bodies=12)
        _, dictionary = archive.site_dictionary("one")
    stage = TemplatePipeline(str(tmp_path / "a.db"), min_stories=0)
    stage.open_spider()
    pages = [PageItem(url=f"http://{site}.example/x", final_url=f"http://{site}.example/x", status=200, body=b"<p>x</p>", site=site)
             for site in ("one", "two")]  # fmt: skip
    assert [stage.process_item(p).dictionary for p in pages] == [dictionary, None]
    stage.close_spider()
