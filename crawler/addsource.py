"""``newsarchive add-source``: a ``[[source]]`` stanza from what the ``discover`` spider found.

The stanza uses the config's fixed keys (design.md, Interfaces): ``name``, ``feeds``,
``sitemaps``, ``start_urls`` (the home page, so that its links are followed too); strings
are written as TOML basic strings. Appending to a config file checks that the result is
still a valid config (:func:`crawler.config.parse_config`) with no second source of the
same name, and replaces the file in one step (``os.replace``), so that a failed append
leaves the file as it was.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from crawler.config import ConfigError, parse_config

NAME_PREFIXES = ("www.", "m.", "mobile.", "amp.")


class AddSourceError(Exception):
    """The stanza cannot be added (the config is invalid, or has a source of that name)."""


def source_name(url: str) -> str:
    """A source name from a home page's host: ``https://www.dawn.com/`` -> ``dawn``."""
    host = (urlsplit(url).hostname or "site").lower()
    for prefix in NAME_PREFIXES:
        if host.startswith(prefix):
            host = host[len(prefix) :]
            break
    label = host.split(".")[0] if not re.fullmatch(r"[\d.]+", host) else host
    return re.sub(r"[^a-z0-9_-]+", "-", label).strip("-") or "site"


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def stanza(name: str, home: str, feeds: list[str], sitemaps: list[str], allow_private: bool = False) -> str:
    """The ``[[source]]`` TOML text (ends with a new line)."""
    lines = [
        "[[source]]",
        f"name = {json.dumps(name, ensure_ascii=False)}",
        f"feeds = {_toml_list(feeds)}",
        f"sitemaps = {_toml_list(sitemaps)}",
        f"start_urls = {_toml_list([home])}",
    ]
    if allow_private:
        lines.append("allow_private = true")
    return "\n".join(lines) + "\n"


def check_name(config: str | Path, name: str) -> None:
    """Raise :class:`AddSourceError` if ``config`` cannot take a source called ``name``
    (unreadable, not TOML, a source of that name already, or a new file in a folder that
    does not exist): checked before fetching."""
    path = Path(config)
    if not path.exists() and not path.parent.is_dir():
        raise AddSourceError(f"cannot write {path}: the folder {path.parent} does not exist")
    _existing(path, name)


def _existing(path: Path, name: str) -> str:
    try:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise AddSourceError(f"cannot read {path}: {exc}") from exc
    try:
        existing = tomllib.loads(current).get("source", [])
    except tomllib.TOMLDecodeError as exc:
        raise AddSourceError(f"{path}: not valid TOML: {exc}") from exc
    if isinstance(existing, list) and any(isinstance(s, dict) and s.get("name") == name for s in existing):
        raise AddSourceError(f"{path} already has a source named {name!r}: choose another with --name")
    return current


def append(config: str | Path, text: str, name: str) -> None:
    """Append a stanza to a config file after checking the result.

    Raises:
        AddSourceError: the file cannot be read, is not a valid config, already has a
            source called ``name``, or would not be valid with the stanza.
    """
    path = Path(config)
    current = _existing(path, name)
    try:
        combined = current + ("\n" if current and not current.endswith("\n\n") else "") + text
        parse_config(combined, str(path))
    except ConfigError as exc:
        raise AddSourceError(str(exc)) from exc
    folder = path.resolve().parent
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, delete=False, prefix=f".{path.name}.") as out:
        out.write(combined)
    os.replace(out.name, path)
