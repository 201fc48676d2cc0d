"""Text as the index reads it: folded (lower case, no diacritics), cut into tokens of
letters and digits, and stemmed; the same on the query side (:mod:`shop.search.query`)
and in the re-rankers (:mod:`shop.search.scoring`, :mod:`shop.search.fieldwise`)."""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import snowballstemmer

_TOKEN = re.compile(r"[^\W_]+")
# A Snowball stemmer keeps its working state on the object: two threads stemming with
# the same one corrupt each other's words (or raise IndexError), so each thread has its own.
_local = threading.local()
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _without_combining(run: re.Match) -> str:
    """A run of non-ASCII characters without its combining marks (the diacritics that
    NFKD splits off)."""
    return "".join(ch for ch in run.group() if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Lower-case and strip diacritics (as the index tokenizers do). Only the non-ASCII
    runs of a text are looked at character by character: a description with one "®" is
    otherwise thousands of Python steps."""
    if text.isascii():
        return text.lower()
    return _NON_ASCII.sub(_without_combining, unicodedata.normalize("NFKD", text.lower()))


def tokenize(text: str) -> list[str]:
    """Index tokens of ``text``: folded runs of letters and digits."""
    return _TOKEN.findall(fold(text))


def _stemmer():
    """This thread's English Snowball stemmer (made on first use). ``snowballstemmer``
    hands out PyStemmer's, Snowball's own C build of the same algorithm, when it is
    installed (it is in ``requirements.txt``): the same stems (checked on every one of
    the catalog's 33,065 distinct tokens) some 150 times faster than the pure Python
    one, which stemming the words of products new to a process otherwise spends most of
    its time in."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return stemmer


@lru_cache(maxsize=65536)
def stem(token: str) -> str:
    """English (Snowball) stem of one folded token (safe to call from any thread)."""
    return _stemmer().stemWord(token)


def is_model_like(token: str) -> bool:
    """True for tokens mixing letters and digits (part numbers such as ``tn2110``)."""
    return any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
