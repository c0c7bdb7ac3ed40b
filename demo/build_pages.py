"""Copy the demo's real pages from ../shared/data into demo/pages (run by developers, not by users).

The demo must run on a fresh clone, which has no ../shared: its pages are bundled,
gzip-compressed, with ``pages.json`` naming each page's site, original URL, source data
set and licence, and ``CREDITS.md`` saying the same for people.

Usage: python -m demo.build_pages [--shared ../shared]
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

# site -> data-set folders (relative to shared/data); all real news pages
PICKS = {
    "reuters": [f"newspaper4k/fulltext-2014/reuters.com{i}" for i in (1, 2, 3, 4)],
    "nytimes": ["readability-testpages/nytimes-1", "readability-testpages/nytimes-2"],
    "washingtonpost": ["readability-testpages/wapo-1", "readability-testpages/wapo-2"],
    "nypost": ["newspaper4k/fulltext-2014/nypost.com1", "newspaper4k/fulltext-2014/nypost.com2"],
    "theglobeandmail": [f"newspaper4k/fulltext-2014/theglobeandmail.com{i}" for i in (1, 2)],
    "dailycaller": [f"newspaper4k/fulltext-2014/dailycaller.com{i}" for i in (1, 2)],
    "foxnews": [f"newspaper4k/fulltext-2014/foxnews.com{i}" for i in (1, 2)],
    "oregonlive": [f"newspaper4k/fulltext-2014/oregonlive.com{i}" for i in (1, 2)],
    "cleveland": [f"newspaper4k/fulltext-2014/cleveland.com{i}" for i in (1, 2)],
    "mlive": [f"newspaper4k/fulltext-2014/mlive.com{i}" for i in (1, 2)],
    "al": [f"newspaper4k/fulltext-2014/al.com{i}" for i in (1, 2)],
    "bbc": ["readability-testpages/bbc-1"],
    "telegraph": ["readability-testpages/telegraph"],
    "seattletimes": ["readability-testpages/seattletimes-1"],
    "lemonde": ["readability-testpages/lemonde-1"],
    "folha": ["readability-testpages/folha"],
}
HERE = Path(__file__).resolve().parent


def build(shared: Path, out: Path) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for site, folders in PICKS.items():
        for n, rel in enumerate(folders, 1):
            folder = shared / "data" / rel
            expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
            name = f"{site}-{n}.html.gz"
            (out / name).write_bytes(gzip.compress((folder / "source.html").read_bytes(), mtime=0))
            entries.append(
                {
                    "site": site,
                    "file": name,
                    "url": expected["url"],
                    "title": expected.get("title"),
                    "published": expected.get("published"),
                    "source": f"shared/data/{rel}",
                    "source_repo": expected.get("source_repo"),
                    "source_path": expected.get("source_path"),
                    "source_commit": expected.get("source_commit"),
                    "licence": expected.get("licence"),
                }
            )
    (out / "pages.json").write_text(json.dumps({"pages": entries}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    lines = [
        "# Credits for the demo pages",
        "",
        "Real news pages, as stored by the open-source projects named below, which use them as",
        "test fixtures. The page content belongs to its publishers; the pages are bundled here",
        "only to demonstrate newsarchive offline, as they are upstream. Each is gzip-compressed,",
        "byte for byte as stored upstream.",
        "",
        "| file | site | original URL | from | licence of the repository |",
        "|---|---|---|---|---|",
    ]
    for e in entries:
        lines.append(
            f"| {e['file']} | {e['site']} | {e['url']} | {e['source_repo']} `{e['source_path']}` "
            f"@ {str(e['source_commit'])[:10]} | {e['licence']} |"
        )
    (out / "CREDITS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    args = parser.parse_args()
    entries = build(args.shared, HERE / "pages")
    print(f"{len(entries)} pages from {len(PICKS)} sites written to {HERE / 'pages'}")


if __name__ == "__main__":
    main()
