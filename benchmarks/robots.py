"""What robots.txt decisions cost: newsarchive's parser against Protego, Scrapy's default.

Generated robots.txt files of 100, 2,000 and 16,000 rules (a wildcard and an anchored rule
per section, as large sites write them, up to the 500 KiB that RFC 9309 2.5 makes a crawler
read), each asked about 2,000 URLs (half an article path no rule matches, half a path under
a disallowed section). Prints, per size, the parse time and the microseconds per URL of
both parsers in the same run (fastest of 3), and their ratio (below 1: newsarchive's is faster).

Usage: python -m benchmarks.robots
"""

from __future__ import annotations

import time

from protego import Protego

from crawler.robots import RobotsTxt


def robots_txt(sections: int) -> str:
    rules = "".join(f"Disallow: /section-{i}/*/private$\nAllow: /section-{i}/public\n" for i in range(sections))
    return "User-agent: *\n" + rules


def urls(sections: int) -> list[str]:
    return [f"https://news.example/world/2024/story-{i}" for i in range(1000)] + [
        f"https://news.example/section-{i % sections}/x/private" for i in range(1000)
    ]


def timed(parse, ask, body: str, asked: list[str], repeat: int = 3) -> tuple[float, float, list[bool]]:
    """(seconds to parse, seconds per URL, answers): the fastest of ``repeat`` runs (the
    machine is shared: the fastest run is the one least disturbed)."""
    parse_secs, ask_secs = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        parser = parse(body)
        parse_secs.append(time.perf_counter() - started)
        started = time.perf_counter()
        answers = [ask(parser, url) for url in asked]
        ask_secs.append((time.perf_counter() - started) / len(asked))
    return min(parse_secs), min(ask_secs), answers


def main() -> None:
    print("robots.txt decisions: newsarchive (crawler.robots) vs Protego (Scrapy's default), same run")
    timed(RobotsTxt, lambda p, u: p.allowed(u, "x"), robots_txt(1), urls(1))  # warm-up: imports, caches
    timed(Protego.parse, lambda p, u: p.can_fetch(u, "x"), robots_txt(1), urls(1))
    for sections in (50, 1000, 8000):
        body, asked = robots_txt(sections), urls(sections)
        ours = timed(RobotsTxt, lambda p, u: p.allowed(u, "newsarchive"), body, asked)
        base = timed(Protego.parse, lambda p, u: p.can_fetch(u, "newsarchive"), body, asked)
        same = sum(a == b for a, b in zip(ours[2], base[2]))
        print(f"- {2 * sections} rules ({len(body) // 1024} KiB): parse {ours[0] * 1000:.0f} ms vs {base[0] * 1000:.0f} ms "
              f"(x{ours[0] / base[0]:.2f}); per URL {ours[1] * 1e6:.1f} us vs {base[1] * 1e6:.1f} us "
              f"(x{ours[1] / base[1]:.3f}); same answer {same}/{len(asked)}")


if __name__ == "__main__":
    main()
