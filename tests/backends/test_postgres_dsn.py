"""PostgreSQL connection strings: both of libpq's forms are recognised, read as libpq reads
them, and shown with every password masked (no server needed)."""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict

from ledger import Ledger, StoreError
from ledger.store.postgres import (
    LIBPQ_KEYWORDS,
    SECRET_KEYWORDS,
    is_dsn,
    keyword_pairs,
    mask_dsn,
)


@pytest.mark.parametrize(
    "target",
    [
        "postgresql://satang@db1/ledger",
        "postgres://db1/ledger",
        "host=localhost dbname=x user=u password=secret",
        "dbname=ledger",
        "  service=ledger  ",
        "host = db1 port = 5432",
        "application_name='the books' sslmode=require",
        "connect_timeout=3 hostaddr=10.0.0.1",
        "options='-c search_path=s1'",
        "host=db1 password=se cret",  # a DSN still, if one libpq will refuse
    ],
)
def test_dsns_are_recognised(target: str) -> None:
    assert is_dsn(target)


@pytest.mark.parametrize(
    "target",
    [
        "wallet.db",
        ":memory:",
        "/var/lib/satang/wallet.db",
        "./host=x.db",  # a file whose name reads like a DSN, given as a path
        "data/dbname=x.db",
        "a=b",
        "colour=blue size=3",
        "",
        "mysql://db1/ledger",
        "POSTGRESQL://db1/ledger",
    ],
)
def test_paths_are_not_dsns(target: str) -> None:
    assert not is_dsn(target)


def test_only_strings_are_dsns() -> None:
    assert not is_dsn(None) and not is_dsn(b"host=x") and not is_dsn(["host=x"])


@pytest.mark.parametrize(
    ("dsn", "masked"),
    [
        (
            "host=localhost dbname=x user=u password=secret",
            "host=localhost dbname=x user=u password=***",
        ),
        ("password='a b' host=h", "password=*** host=h"),
        ("host=h password = 'it\\'s secret' user=u", "host=h password = *** user=u"),
        ("host=h password=back\\ slash user=u", "host=h password=*** user=u"),
        ("host=h sslpassword=keypass", "host=h sslpassword=***"),
        ("password=", "password=***"),
        ("host=h password=se cret", "host=h password=***"),  # malformed: all after it goes
        ("host=h password='unterminated user=u", "host=h password=***"),
        ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
        (
            "postgres://u:p%40ss@h:5432/db?sslmode=require",
            "postgres://u:***@h:5432/db?sslmode=require",
        ),
        ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),  # an unescaped @
        ("postgresql://u:pa/ss@h/db", "postgresql://u:***@h/db"),  # an unescaped /
        (
            "postgresql://u@h/db?password=secret&sslmode=require",
            "postgresql://u@h/db?password=***&sslmode=require",
        ),
        (
            "postgresql:///db?host=/tmp&pass%77ord=secret",
            "postgresql:///db?host=/tmp&pass%77ord=***",
        ),
        ("postgresql://h/db", "postgresql://h/db"),
        ("host=db1 dbname=ledger", "host=db1 dbname=ledger"),
    ],
)
def test_every_password_is_masked(dsn: str, masked: str) -> None:
    assert mask_dsn(dsn) == masked
    for secret in ("secret", "se cret", "keypass", "it\\'s", "a b", "p%40ss", "pa/ss"):
        assert secret not in mask_dsn(dsn)


@pytest.mark.parametrize(
    "dsn",
    [
        "host=127.0.0.1 port=1 user=u password=s3cr3t",
        "postgresql://u:s3cr3t@127.0.0.1:1/ledger",
    ],
)
def test_a_store_names_its_dsn_masked(dsn: str) -> None:
    """A server that refuses at once (port 1): the error names the DSN, masked."""
    with pytest.raises(StoreError) as caught:
        Ledger.open(dsn)
    assert "s3cr3t" not in str(caught.value) and "***" in str(caught.value)


def test_keyword_pairs_read_values_as_libpq_does() -> None:
    assert keyword_pairs("host=db1  password='a b\\'c'   port = 5432 ") == [
        ("host", "db1"),
        ("password", "a b'c"),
        ("port", "5432"),
    ]
    assert keyword_pairs("host=") == [("host", "")]
    assert keyword_pairs("host=db1 colour=blue") is None  # libpq knows no such keyword
    assert keyword_pairs("host=db1 password=se cret") is None
    assert keyword_pairs("password='open") is None


def test_the_keywords_are_libpqs() -> None:
    """Every keyword the installed libpq knows is known here (the list may hold a few of
    older or newer versions as well)."""
    installed = {
        o.keyword.decode() if isinstance(o.keyword, bytes) else o.keyword
        for o in psycopg.pq.Conninfo.get_defaults()
    }
    assert installed <= LIBPQ_KEYWORDS
    assert SECRET_KEYWORDS <= LIBPQ_KEYWORDS


@pytest.mark.parametrize("key", sorted(SECRET_KEYWORDS))
def test_every_secret_keyword_is_masked(key: str) -> None:
    assert mask_dsn(f"host=h {key}=s3cr3t user=u") == f"host=h {key}=*** user=u"
    assert mask_dsn(f"postgresql://h/db?{key}=s3cr3t") == f"postgresql://h/db?{key}=***"


_KEYS = st.sampled_from(["host", "dbname", "user", "password", "port", "options"])
_PIECES = st.one_of(_KEYS, st.text(alphabet=" =\\'\tab\n", max_size=3))


@pytest.mark.slow  # a search of 3,000 examples
@settings(max_examples=3_000, deadline=None)
@given(st.lists(_PIECES, max_size=12).map("".join))
def test_keyword_pairs_agree_with_libpq(text: str) -> None:
    """Whatever the text, our reading of it is libpq's (or both refuse it)."""
    try:
        theirs: dict[str, str] | None = conninfo_to_dict(text)
    except psycopg.ProgrammingError:
        theirs = None
    ours = keyword_pairs(text)
    assert (None if ours is None else dict(ours)) == theirs
    masked = keyword_pairs(mask_dsn(text))
    if ours is not None:  # the masked text reads the same, every secret as ***
        assert masked == [(k, "***" if k in SECRET_KEYWORDS else v) for k, v in ours]


@pytest.mark.parametrize(
    "dsn, secret",
    [("host=x password=se cret", "cret"), ("postgresql://u:p@ss@h/db", "p@ss")],
)
def test_the_library_refuses_a_malformed_dsn_without_quoting_its_password(
    dsn: str, secret: str
) -> None:
    from ledger import Ledger, StoreError

    with pytest.raises(StoreError) as raised:
        Ledger.open(dsn)
    assert secret not in str(raised.value) and "***" in str(raised.value)
