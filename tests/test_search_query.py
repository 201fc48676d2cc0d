"""Query analysis without a database: stemming from several threads at once."""

from __future__ import annotations

import sys
import threading

import pytest

from shop.search.tokens import stem

WORDS = [
    base + suffix
    for base in ("connect", "batter", "cabl", "print", "charg", "wireless", "adapt", "monitor", "speak")
    for suffix in ("", "s", "ing", "ed", "ies", "ers", "ation", "ational", "fulness", "ively", "ement")
]


@pytest.fixture
def busy_switching():
    """Let threads take turns as often as the interpreter allows, so that races show."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def test_stemming_from_many_threads_at_once_matches_one_thread(busy_switching):
    # The cache in front of the stemmer would answer repeats without stemming: go around it.
    plain = stem.__wrapped__
    expected = [plain(w) for w in WORDS]
    threads, rounds = 8, 20
    start = threading.Barrier(threads)
    failures: list[str] = []

    def work() -> None:
        start.wait()
        try:
            for _ in range(rounds):
                got = [plain(w) for w in WORDS]
                if got != expected:
                    failures.append(f"different stems: {got}")
        except Exception as exc:  # any error (IndexError, typically) is the failure
            failures.append(repr(exc))

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert failures == []
    stem.cache_clear()
    assert [stem(w) for w in WORDS] == expected
    assert expected[:4] == ["connect", "connect", "connect", "connect"]


def test_the_stemmer_is_snowballs_c_build_and_stems_as_the_python_one():
    from snowballstemmer.english_stemmer import EnglishStemmer

    from shop.search.tokens import _stemmer

    # PyStemmer (requirements.txt): the pure Python stemmer is some 150 times slower.
    assert type(_stemmer()).__module__ == "Stemmer"
    python = EnglishStemmer()
    assert [stem.__wrapped__(w) for w in WORDS] == [python.stemWord(w) for w in WORDS]
