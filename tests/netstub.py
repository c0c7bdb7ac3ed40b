"""Run ``newsarchive`` or ``scrapy`` with a stub DNS and a patched connect (SSRF tests, scenario 28).

    python -m tests.netstub NETMAP.json newsarchive archive URL ...
    python -m tests.netstub NETMAP.json scrapy crawl urls -a urls=URL -s DNSCACHE_ENABLED=False

``NETMAP.json``::

    {"dns": {"rebind.test": ["93.184.215.14", "10.0.0.5"]},      # answers, in turn, round and round
     "connect": {"10.0.0.5:80": "127.0.0.1:43121", ...},          # where a connection really goes
     "log": "/tmp/.../net.jsonl"}                                  # one line per lookup and connect

Nothing leaves loopback: a connection to an address that is neither loopback nor mapped is
sent to 127.0.0.1:9 (closed), and logged as ``blocked``. Private and public addresses can so
be "reached" on one machine, and counted: the SSRF guard must refuse them before any
connect (0 hits on the canary), and with the guard off (the positive control) the same
payload must reach the canary.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import sys
import time

_CLOSED = ("127.0.0.1", 9)


def _install(netmap: dict) -> None:
    dns: dict[str, list[str]] = netmap.get("dns", {})
    connects: dict[str, str] = netmap.get("connect", {})
    log_path = netmap["log"]
    asked: dict[str, int] = {}

    def log(event: dict) -> None:
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"time": time.time(), **event}) + "\n")

    real_gethostbyname = socket.gethostbyname
    real_getaddrinfo = socket.getaddrinfo

    def answer(name: str) -> str | None:
        key = name.lower().rstrip(".")
        if key not in dns:
            return None
        n = asked.get(key, 0)
        asked[key] = n + 1
        address = dns[key][n % len(dns[key])]
        log({"event": "dns", "name": key, "answer": address, "n": n + 1})
        return address

    def gethostbyname(name):
        found = answer(name)
        return found if found is not None else real_gethostbyname(name)

    def getaddrinfo(host, port, *args, **kwargs):
        found = answer(host) if isinstance(host, str) else None
        return real_getaddrinfo(found if found is not None else host, port, *args, **kwargs)

    socket.gethostbyname = gethostbyname
    socket.getaddrinfo = getaddrinfo

    from twisted.internet.posixbase import PosixReactorBase

    real_connect = PosixReactorBase.connectTCP

    def connectTCP(self, host, port, factory, timeout=30, bindAddress=None):  # noqa: N802 - Twisted's name
        key = f"{host}:{port}"
        if key in connects:
            target_host, target_port = connects[key].rsplit(":", 1)
            log({"event": "connect", "to": key, "via": connects[key]})
            return real_connect(self, target_host, int(target_port), factory, timeout, bindAddress)
        try:
            ip = ipaddress.ip_address(host)
            loopback = ip.is_loopback or ip.is_unspecified  # connect(0.0.0.0) reaches this machine
        except ValueError:
            loopback = False
        if loopback:
            log({"event": "connect", "to": key})
            return real_connect(self, host, port, factory, timeout, bindAddress)
        log({"event": "blocked", "to": key})
        return real_connect(self, *_CLOSED, factory, timeout, bindAddress)

    PosixReactorBase.connectTCP = connectTCP


def main(argv: list[str]) -> int:
    with open(argv[0], encoding="utf-8") as f:
        _install(json.load(f))
    program, args = argv[1], argv[2:]
    if program == "newsarchive":
        from newsarchive.cli import cli

        return cli.main(args=args, prog_name="newsarchive", standalone_mode=True) or 0
    if program == "scrapy":
        from scrapy.cmdline import execute

        execute(["scrapy", *args])
        return 0
    raise SystemExit(f"unknown program {program!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
