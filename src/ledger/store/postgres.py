"""The PostgreSQL store: the same tables and guarantees as the SQLite one, for several
application servers writing one ledger (``Ledger.open("postgresql://...")``, the
``postgres`` extra: psycopg 3).

* **One writer at a time, in ``seq`` order.** Every write transaction begins by locking
  the single row of ``ledger_head`` (``SELECT ... FOR UPDATE``), before it reads
  anything. So decisions are made on rows no other writer can change until we commit —
  an account that has no balance row yet included, since the lock is on the ledger, not
  on the rows a command happens to touch. ``seq`` is the locked head + 1, and the next
  writer cannot even begin until this one has committed: commits happen in ``seq``
  order, and a reader (``READ COMMITTED``) never sees a later ``seq`` before an earlier
  one. A trigger refuses any ``seq`` but the head + 1.
* **Append-only.** Triggers refuse UPDATE, DELETE and TRUNCATE on ``events``,
  ``commands`` and ``account_postings``; ``(stream, version)`` and command ids are
  unique.
* **Balances in the same transaction** as the events, exactly as in SQLite (the code is
  shared: :mod:`ledger.store.sql`). The account cache is kept between transactions only
  while the locked head is the one this store last wrote or saw: anyone else's commit
  moves it, and the cache is dropped.
* **Text is compared byte by byte** (``COLLATE "C"``), as SQLite does: stream prefixes,
  account order and digests are the same on both backends.
* ``durability="normal"`` is ``synchronous_commit = off``: an acknowledged command may
  be lost if the server crashes before its WAL is flushed (never a torn one).
  ``busy_timeout_ms`` is ``lock_timeout``: a writer waiting longer for the ledger's lock
  gets :class:`~ledger.errors.StoreBusy`.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ledger.errors import SchemaTooNew, StoreBusy, StoreCorrupt, StoreError, shown
from ledger.policy import Policy
from ledger.store.base import GENESIS_HASH
from ledger.store.sql import COUNTERS_UPDATE, READ_PAGE, SqlStore

if TYPE_CHECKING:
    import psycopg

SCHEMA_VERSION = 6
"""The same schema generation as SQLite's ``SCHEMA_VERSION`` (the tables hold the same
columns); PostgreSQL's migrations start at 2."""

_APPEND_ONLY = """
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION satang_append_only();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION satang_append_only();
"""

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        2,
        "event log, idempotency index, inline balances with holds and tiers",
        """
        CREATE TABLE events (
            seq          BIGINT  PRIMARY KEY CHECK (seq >= 1),
            stream       TEXT    COLLATE "C" NOT NULL,
            version      INTEGER NOT NULL CHECK (version >= 1),
            command_id   TEXT    COLLATE "C" NOT NULL,
            type         TEXT    COLLATE "C" NOT NULL,
            schema       INTEGER NOT NULL,
            recorded_at  BIGINT  NOT NULL,
            effective_at BIGINT  NOT NULL,
            payload      BYTEA   NOT NULL,
            hash         BYTEA   NOT NULL CHECK (length(hash) = 32),
            UNIQUE (stream, version)
        );
        CREATE INDEX events_command_id ON events (command_id);
        CREATE TABLE commands (
            command_id TEXT   COLLATE "C" PRIMARY KEY,
            digest     BYTEA  NOT NULL,
            first_seq  BIGINT NOT NULL,
            last_seq   BIGINT NOT NULL
        );
        CREATE TABLE accounts (
            id                TEXT    COLLATE "C" PRIMARY KEY,
            type              TEXT    COLLATE "C" NOT NULL,
            currency          TEXT    COLLATE "C" NOT NULL,
            no_overdraft      INTEGER NOT NULL,
            max_balance_minor BIGINT,
            status            TEXT    COLLATE "C" NOT NULL,
            metadata          TEXT    COLLATE "C" NOT NULL,
            opened_seq        BIGINT  NOT NULL,
            debits_posted     BIGINT  NOT NULL DEFAULT 0,
            credits_posted    BIGINT  NOT NULL DEFAULT 0,
            debits_pending    BIGINT  NOT NULL DEFAULT 0,
            credits_pending   BIGINT  NOT NULL DEFAULT 0,
            tier              TEXT    COLLATE "C"
        );
        CREATE TABLE account_postings (
            account         TEXT    COLLATE "C" NOT NULL,
            seq             BIGINT  NOT NULL,
            leg             INTEGER NOT NULL,
            side            TEXT    COLLATE "C" NOT NULL,
            amount_minor    BIGINT  NOT NULL,
            effective_at    BIGINT  NOT NULL,
            debits_posted   BIGINT  NOT NULL,
            credits_posted  BIGINT  NOT NULL,
            debits_pending  BIGINT  NOT NULL,
            credits_pending BIGINT  NOT NULL,
            phase           TEXT    COLLATE "C" NOT NULL DEFAULT 'posted'
                CHECK (phase IN ('posted', 'pending', 'released')),
            PRIMARY KEY (account, seq, leg)
        );
        CREATE INDEX account_postings_effective ON account_postings (account, effective_at);
        CREATE INDEX account_postings_seq ON account_postings (seq, leg);
        CREATE TABLE ledger_head (
            one         INTEGER PRIMARY KEY CHECK (one = 1),
            seq         BIGINT  NOT NULL,
            hash        BYTEA   NOT NULL,
            recorded_at BIGINT  NOT NULL
        );
        INSERT INTO ledger_head VALUES (1, 0, decode(repeat('00', 32), 'hex'), 0);
        CREATE FUNCTION satang_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
        END $$;
        CREATE FUNCTION satang_gapless() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.seq <> COALESCE((SELECT MAX(seq) FROM events), 0) + 1 THEN
                RAISE EXCEPTION 'events.seq must be the head + 1: the log is gapless';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER events_gapless BEFORE INSERT ON events
            FOR EACH ROW EXECUTE FUNCTION satang_gapless();
        """
        + "".join(_APPEND_ONLY.format(table=t) for t in ("events", "commands", "account_postings")),
    ),
    (
        3,
        "the record of refusals, and the ledger settings (its time zone)",
        """
        CREATE TABLE refusals (
            n           BIGINT  PRIMARY KEY CHECK (n >= 1),
            command_id  TEXT    COLLATE "C" NOT NULL UNIQUE,
            digest      BYTEA   NOT NULL,
            code        TEXT    COLLATE "C" NOT NULL,
            subject     TEXT    COLLATE "C" NOT NULL,
            detail      TEXT    COLLATE "C" NOT NULL,
            recorded_at BIGINT  NOT NULL,
            head_seq    BIGINT  NOT NULL,
            hash        BYTEA   NOT NULL CHECK (length(hash) = 32)
        );
        CREATE FUNCTION satang_refusals_gapless() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.n <> COALESCE((SELECT MAX(n) FROM refusals), 0) + 1 THEN
                RAISE EXCEPTION 'refusals.n must be the last + 1: the record is gapless';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER refusals_gapless BEFORE INSERT ON refusals
            FOR EACH ROW EXECUTE FUNCTION satang_refusals_gapless();
        CREATE TABLE ledger_settings (
            key   TEXT COLLATE "C" PRIMARY KEY,
            value TEXT COLLATE "C" NOT NULL
        );
        """
        + "".join(_APPEND_ONLY.format(table=t) for t in ("refusals", "ledger_settings")),
    ),
    (
        4,
        "no index of the log by command id: commands holds the seqs of each command",
        """
        DROP INDEX events_command_id;
        """,
    ),
    (
        5,
        "event payloads of schema 2, the compact encoding: older code must not open the file",
        """
        SELECT 1;
        """,
    ),
    (
        6,
        "subjects: the customer of each account, the key store of their data keys",
        """
        ALTER TABLE accounts ADD COLUMN subject TEXT COLLATE "C";
        CREATE TABLE subjects (
            subject        TEXT COLLATE "C" PRIMARY KEY,
            accounts       BIGINT NOT NULL,
            open_accounts  BIGINT NOT NULL,
            last_closed_at BIGINT,
            erased_seq     BIGINT
        );
        CREATE TABLE subject_keys (
            subject TEXT COLLATE "C" PRIMARY KEY,
            key_id  TEXT COLLATE "C" NOT NULL,
            wrapped BYTEA NOT NULL
        );
        """,
    ),
)

_COPIED = (
    (
        "accounts",
        "id, type, currency, no_overdraft, max_balance_minor, status, metadata, opened_seq,"
        " debits_posted, credits_posted, debits_pending, credits_pending, tier, subject",
        "id",
    ),
    (
        "events",
        "seq, stream, version, command_id, type, schema, recorded_at, effective_at, payload, hash",
        "seq",
    ),
    (
        "account_postings",
        "account, seq, leg, side, amount_minor, effective_at, debits_posted, credits_posted,"
        " debits_pending, credits_pending, phase",
        "account, seq, leg",
    ),
    ("commands", "command_id, digest, first_seq, last_seq", "command_id"),
    ("subjects", "subject, accounts, open_accounts, last_closed_at, erased_seq", "subject"),
    ("subject_keys", "subject, key_id, wrapped", "subject"),
    (
        "refusals",
        "n, command_id, digest, code, subject, detail, recorded_at, head_seq, hash",
        "n",
    ),
)
"""What :meth:`PostgresStore.load` copies: table, columns, the key it pages by."""


def _marks(key: str) -> str:
    return ", ".join("?" for _ in key.split(","))


_TRIGGERS = {("events", "events_gapless"), ("refusals", "refusals_gapless")} | {
    (table, f"{table}_{kind}")
    for table in ("events", "commands", "account_postings", "refusals", "ledger_settings")
    for kind in ("append_only", "no_truncate")
}
"""The triggers this code creates (``verify`` checks each is there and enabled)."""

_MARK = "satang ledger"
"""``COMMENT ON TABLE events``: how a schema is known to hold a Satang ledger."""


_LIBPQ_WORDS = """
host hostaddr port dbname user password passfile require_auth channel_binding connect_timeout
client_encoding options application_name fallback_application_name keepalives keepalives_idle
keepalives_interval keepalives_count tcp_user_timeout replication gssencmode sslmode
sslnegotiation requiressl sslcompression sslcert sslkey sslpassword sslcertmode sslrootcert
sslcrl sslcrldir sslsni sslkeylogfile requirepeer ssl_min_protocol_version
ssl_max_protocol_version min_protocol_version max_protocol_version krbsrvname gsslib
gssdelegation service target_session_attrs load_balance_hosts oauth_issuer oauth_client_id
oauth_client_secret oauth_scope scram_client_key scram_server_key
"""
LIBPQ_KEYWORDS = frozenset(_LIBPQ_WORDS.split())
"""The connection keywords of libpq (PostgreSQL 18): a ``key=value`` string naming one
of them is a keyword DSN (``host=db1 dbname=ledger user=satang``)."""
SECRET_KEYWORDS = frozenset(
    {"password", "sslpassword", "oauth_client_secret", "scram_client_key", "scram_server_key"}
)
"""The keywords whose values :func:`mask_dsn` hides."""
URL_SCHEMES = ("postgresql://", "postgres://")
_SECRET = re.compile(r"(?:^|\s)(?:" + "|".join(sorted(SECRET_KEYWORDS)) + r")\s*=")
_KEYWORD = re.compile(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)\s*=")
_UNESCAPE = re.compile(r"\\(.|\Z)", re.S)
_PAIR = re.compile(  # libpq's: blanks may surround '='; a value quoted, bare or empty
    r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"
    r"('(?:[^'\\]|\\.)*'|(?:[^\s'\\]|\\.|\\\Z)(?:[^\s\\]|\\.|\\\Z)*|(?=\s|\Z))",
    re.S,
)


def is_dsn(target: object) -> bool:
    """Whether ``Ledger.open`` was given a PostgreSQL connection string: a
    ``postgresql://`` (or ``postgres://``) URL, or libpq's keyword form, ``key=value``
    pairs of which at least one key is a libpq keyword (``host=db1 dbname=ledger``).
    A file whose name reads like that is given as a path: ``./host=x.db``."""
    if not isinstance(target, str):
        return False
    if target.startswith(URL_SCHEMES):
        return True
    return any(m.group(1) in LIBPQ_KEYWORDS for m in _KEYWORD.finditer(target))


def _pair_matches(dsn: str) -> list[re.Match[str]] | None:
    """The ``key=value`` pairs of a keyword DSN as libpq reads them, or None if the text
    is not wholly made of them or names a key libpq does not know."""
    pairs: list[re.Match[str]] = []
    at = len(dsn) - len(dsn.lstrip())
    while at < len(dsn):
        found = _PAIR.match(dsn, at)
        if found is None or found.end() == at or found.group(1) not in LIBPQ_KEYWORDS:
            return None
        pairs.append(found)
        at = found.end()
        while at < len(dsn) and dsn[at].isspace():
            at += 1
    return pairs


def keyword_pairs(dsn: str) -> list[tuple[str, str]] | None:
    """The ``(key, value)`` pairs of a keyword DSN, values unquoted as libpq reads them
    (``password='a b'`` is ``a b``), or None if ``dsn`` is not wholly ``key=value`` pairs
    of libpq's keywords: libpq would refuse it, and its message could quote a piece of
    the password."""
    found = _pair_matches(dsn)
    if found is None:
        return None
    return [(m.group(1), _UNESCAPE.sub(r"\1", _unquoted(m.group(2)))) for m in found]


def _unquoted(value: str) -> str:
    return value[1:-1] if value.startswith("'") else value


def mask_dsn(dsn: str) -> str:
    """The connection string with every password replaced by ``***``, for messages: the
    ``user:password@`` of a URL and its ``password=`` parameter, the ``password=`` (also
    quoted, ``password='a b'``) of a keyword DSN, and likewise every other secret libpq
    takes (``sslpassword``, ``oauth_client_secret``, the SCRAM keys). What cannot be
    parsed is masked from the first secret on, so a malformed one never shows either."""
    if dsn.startswith(URL_SCHEMES):
        scheme, rest = dsn.split("://", 1)
        credentials = _userinfo(dsn)
        if credentials is not None:
            # a password holding an unescaped '@', '/', '?' or '#' is masked whole
            user, colon, _ = credentials.partition(":")
            rest = f"{user}{':***' if colon else ''}{rest[len(credentials) :]}"
        base, question, query = rest.partition("?")
        if question:
            params = (param.partition("=") for param in query.split("&"))
            query = "&".join(
                f"{key}{eq}***" if unquote(key) in SECRET_KEYWORDS else f"{key}{eq}{value}"
                for key, eq, value in params
            )
        return f"{scheme}://{base}{question}{query}"
    pairs = _pair_matches(dsn)
    if pairs is None:
        secret = _SECRET.search(dsn)
        return dsn if secret is None else dsn[: secret.end()] + "***"
    out: list[str] = []
    at = 0
    for pair in pairs:
        if pair.group(1) in SECRET_KEYWORDS:
            out.append(dsn[at : pair.start(2)] + "***")
            at = pair.end(2)
    return "".join(out) + dsn[at:]


_shown = mask_dsn
"""What :class:`PostgresStore` names its DSN in messages by."""


COPY_FROM_ROWS = 50
"""From this many rows an INSERT is sent as ``COPY`` (below it, COPY's own round trips
cost more than the rows)."""
_INSERT = re.compile(r"INSERT INTO (\w+) ?(\([\w, ]+\))? VALUES \([?, ]+\)", re.S)
_COUNTERS_BULK = (
    "UPDATE accounts AS a SET debits_posted = v.dp, credits_posted = v.cp,"
    " debits_pending = v.dq, credits_pending = v.cq"
    " FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::text[])"
    " AS v(dp, cp, dq, cq, id) WHERE a.id = v.id"
)


def _userinfo(url: str) -> str | None:
    """The ``user:password`` of a DSN URL, where :func:`mask_dsn` finds it (up to the last
    ``@`` before the path), or None."""
    if not url.startswith(URL_SCHEMES):
        return None
    rest = url.split("://", 1)[1]
    first_at = rest.find("@")
    if first_at < 0:
        return None
    ends = [i for i in (rest.find(c, first_at) for c in "/?") if i >= 0]
    return rest[: rest.rfind("@", 0, min(ends, default=len(rest)))]


def _secrets(target: str) -> list[str]:
    """The passwords a DSN holds (to scrub from messages that quote them)."""
    found: list[str] = []
    if target.startswith(URL_SCHEMES):
        rest = target.split("://", 1)[1]
        found.append((_userinfo(target) or "").partition(":")[2])
        for param in rest.partition("?")[2].split("&"):
            key, _, value = param.partition("=")
            if unquote(key) in SECRET_KEYWORDS:
                found.append(value)
    else:
        pairs = keyword_pairs(target) or []
        found += [value for key, value in pairs if key in SECRET_KEYWORDS]
    return [s for v in found if v for s in {v, unquote(v)}]


def scrub(message: str, dsn: str) -> str:
    """``message`` with every password of ``dsn`` replaced by ``***`` (a driver's error
    may quote a piece of the connection string)."""
    if is_dsn(dsn):
        for secret in sorted(_secrets(dsn), key=len, reverse=True):
            message = message.replace(secret, "***")
    return message


def dsn_problem(dsn: str) -> str | None:
    """Why libpq would refuse ``dsn`` in words that quote no password, or None: an
    unencoded ``@ / ? #`` in a URL's user or password, or a keyword DSN that is not
    wholly ``key=value`` pairs of libpq's keywords."""
    if any(c in (_userinfo(dsn) or "") for c in "@/?#"):
        return (
            f"{shown(mask_dsn(dsn))}: in a URL, write @ / ? # in the user or password "
            "as %40 %2F %3F %23"
        )
    if not dsn.startswith(URL_SCHEMES) and keyword_pairs(dsn) is None:
        return (
            f"{shown(mask_dsn(dsn))} is not a DSN libpq reads: key=value pairs of its "
            "keywords, a value with blanks in quotes (password='a b')"
        )
    return None


class _Sql:
    """The psycopg connection behind the ``?`` placeholders the shared SQL is written in."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._translated: dict[str, str] = {}

    def _sql(self, sql: str) -> str:
        found = self._translated.get(sql)
        if found is None:
            found = self._translated[sql] = sql.replace("%", "%%").replace("?", "%s")
        return found

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        return self.conn.execute(self._sql(sql), tuple(parameters))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """A batch's rows: an INSERT of many as one ``COPY`` (the triggers still fire for
        every row), the counters' UPDATE as one statement over arrays, anything else row
        by row (pipelined)."""
        if not rows:
            return
        insert = _INSERT.fullmatch(sql) if len(rows) >= COPY_FROM_ROWS else None
        with self.conn.cursor() as cursor:
            if insert is not None:
                table, columns = insert.group(1), insert.group(2) or ""
                with cursor.copy(f"COPY {table} {columns} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            elif sql == COUNTERS_UPDATE:
                cursor.execute(_COUNTERS_BULK, [list(column) for column in zip(*rows, strict=True)])
            else:
                cursor.executemany(self._sql(sql), rows)


class PostgresStore(SqlStore):
    """The PostgreSQL backend of the store interface (:class:`ledger.store.base.Store`)."""

    def __init__(
        self,
        dsn: str,
        *,
        durability: str = "full",
        busy_timeout_ms: int = 5_000,
        create: bool = True,
        readonly: bool = False,
    ) -> None:
        super().__init__()
        self.readonly = readonly
        try:
            import psycopg
        except ImportError as exc:
            raise StoreError("PostgreSQL needs psycopg 3: pip install 'satang[postgres]'") from exc
        if durability not in ("full", "normal"):
            raise StoreError(f"durability must be 'full' or 'normal', not {durability!r}")
        if type(busy_timeout_ms) is not int or busy_timeout_ms < 0:
            raise StoreError(f"busy_timeout_ms is an int >= 0, not {busy_timeout_ms!r}")
        problem = dsn_problem(dsn)
        if problem is not None:
            raise StoreError(problem)
        self._psycopg = psycopg
        self._ERRORS = (psycopg.Error, UnicodeDecodeError)
        self.path = _shown(dsn)
        self.durability = durability
        self._dsn = dsn
        self._snapshot_thread: int | None = None
        """The thread that holds ``snapshot()`` (its one connection holds one at most)."""
        # lock_timeout 0 would wait for ever; SQLite's busy_timeout 0 fails at once
        self._settings = (
            f"SET lock_timeout = {max(busy_timeout_ms, 1)}",
            f"SET synchronous_commit = {'on' if durability == 'full' else 'off'}",
        )
        self._connect()
        try:
            self._migrate(create and not readonly)
        except BaseException as exc:
            self._conn.close()
            if isinstance(exc, psycopg.Error):
                raise self._error(exc) from exc
            raise

    def _connect(self) -> None:
        """A new connection, with this store's settings (after a lost one, too: a server
        restart or a failover costs the transaction in flight, not the ``Ledger``)."""
        psycopg = self._psycopg
        try:
            conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)
            for setting in self._settings:
                conn.execute(setting)
        except psycopg.Error as exc:
            raise StoreError(f"{self.path}: cannot connect ({scrub(str(exc), self._dsn)})") from exc
        self._conn = conn
        self._sql = _Sql(conn)
        self._forget()

    @contextmanager
    def _reader(self) -> Iterator[Any]:
        """The one connection (the ``Ledger`` serialises reads with writes), reconnected
        first if it was lost outside a transaction."""
        if not self._in_transaction():
            self._usable()
        yield self._sql

    def _usable(self) -> None:
        """Reconnect if the connection was lost (the server restarted, failed over, or
        ended this session); whatever was in flight on it was rolled back by the server."""
        if self._conn.closed or self._conn.broken:
            self._conn.close()
            self._connect()

    # --- set-up -------------------------------------------------------------------------

    def _migrate(self, create: bool) -> None:
        """Bring the schema to SCHEMA_VERSION (in the connection's ``search_path``)."""
        conn = self._conn
        # only the schema the ledger is created in counts (current_schema(), the first
        # of the search_path that exists): a ledger in a later one is another ledger
        found = conn.execute(
            "SELECT (SELECT obj_description(c.oid, 'pg_class') FROM pg_class AS c"
            "        WHERE c.relnamespace = n.oid AND c.relname = 'events'),"
            "       EXISTS (SELECT 1 FROM pg_class AS c"
            "        WHERE c.relnamespace = n.oid AND c.relname = 'schema_migrations')"
            " FROM pg_namespace AS n WHERE n.nspname = current_schema()"
        ).fetchone()
        if found is None:
            raise StoreError(f"{self.path}: the search_path names no schema that exists")
        mark, migrated = found
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchone()
        if mark is None and tables and tables[0]:
            raise StoreCorrupt(
                f"{self.path}: the schema {self._schema()!r} holds tables but no Satang "
                "ledger; give another database or search_path"
            )
        if mark is None and not create:
            raise StoreError(f"{self.path}: no Satang ledger in schema {self._schema()!r}")
        current = 0
        if migrated:
            row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
            current = row[0] if row and row[0] is not None else 0
        if current > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"{self.path} has schema {current}; this Satang knows up to "
                f"{SCHEMA_VERSION}: upgrade the satang package"
            )
        self.created = mark is None
        if current == SCHEMA_VERSION:
            return
        if self.readonly:
            self.has_refusals = current >= 3
            self.has_subjects = current >= 6
            return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('satang migrations'))")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
            current = row[0] if row and row[0] is not None else 0
            for version, name, script in MIGRATIONS:
                if version > current:
                    conn.execute(script)
                    conn.execute(
                        "INSERT INTO schema_migrations VALUES (%s, %s, now()::text)",
                        (version, name),
                    )
            conn.execute(f"COMMENT ON TABLE events IS '{_MARK}'")

    def _schema(self) -> str:
        row = self._conn.execute("SELECT current_schema()").fetchone()
        return str(row[0]) if row else "?"

    # --- the write lock -----------------------------------------------------------------

    def _error(self, exc: BaseException) -> StoreError:
        errors = self._psycopg.errors
        if isinstance(exc, UnicodeDecodeError):
            return StoreCorrupt(f"{self.path}: text that is not UTF-8 ({exc})")
        if isinstance(exc, errors.LockNotAvailable | errors.QueryCanceled):
            return StoreBusy(
                f"{self.path}: another writer held the ledger's lock past the busy timeout "
                f"({exc}); retry, or raise busy_timeout_ms"
            )
        if isinstance(exc, errors.SerializationFailure | errors.DeadlockDetected):
            return StoreBusy(f"{self.path}: {exc}; retry")
        if isinstance(exc, errors.DataCorrupted | errors.IndexCorrupted):
            return StoreCorrupt(f"{self.path}: {exc}")
        return StoreError(f"{self.path}: {exc}")

    def _in_transaction(self) -> bool:
        status = self._conn.info.transaction_status
        busy = self._psycopg.pq.TransactionStatus
        return bool(status in (busy.INTRANS, busy.INERROR, busy.ACTIVE))

    def _begin(self) -> None:
        self._usable()
        # READ COMMITTED whatever the role's default: after waiting for the lock, every
        # statement must see the commit of the writer that held it
        self._conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        row = self._conn.execute(
            "SELECT seq, hash, recorded_at FROM ledger_head WHERE one = 1 FOR UPDATE"
        ).fetchone()
        if row is None:
            raise StoreCorrupt(f"{self.path}: ledger_head has no row")
        locked = (row[0], bytes(row[1]), row[2])
        # a commit that only recorded refusals leaves ledger_head as it was: read the
        # record's end afresh in every transaction that refuses
        self._refusal_head = None
        if locked != self._head:  # someone else committed since: the cache may be stale
            self._forget()
            self._head = locked if locked[0] else (0, GENESIS_HASH, 0)

    def _commit(self) -> None:
        self._conn.execute("COMMIT")

    def _abort(self) -> None:
        with contextlib.suppress(self._psycopg.Error):  # a lost connection: rolled back already
            self._conn.execute("ROLLBACK")

    def _shred(self) -> bool:
        """Rewrite the key store's table once an erasure has committed (``VACUUM FULL``):
        the deleted key's dead row goes with the old table file. What PostgreSQL keeps
        elsewhere (its WAL segments until recycled, WAL archives, base backups) still holds
        the wrapped key until they expire (docs/personal-data.md)."""
        try:
            self._conn.execute("VACUUM (FULL) subject_keys")
        except self._psycopg.Error:
            return False
        return True

    def _flushed(self, head: tuple[int, bytes, int]) -> None:
        self._sql.execute(
            "UPDATE ledger_head SET seq = ?, hash = ?, recorded_at = ? WHERE one = 1", head
        )

    # --- migration from SQLite ---------------------------------------------------------

    def load(
        self, source: SqlStore, progress: Callable[[int, int], None] | None = None
    ) -> tuple[int, bytes]:
        """Copy every row of another store's log, index and balances into this empty one,
        unchanged, all from one read snapshot of the source and in one transaction here
        (the hash chain covers every column, so a row copied wrong breaks it); return the
        (seq, hash) of the last event copied. ``verify`` with that head as anchor then
        proves the copy (``satang migrate`` does both)."""
        with source.snapshot(), self.transaction(0, Policy()) as tx:
            if tx.head_seq:
                raise StoreError(f"{self.path} holds a ledger already (head {tx.head_seq})")
            total = source.head()[0]
            last: tuple[int, bytes, int] = (0, GENESIS_HASH, 0)
            for table, columns, key in _COPIED:
                if table == "refusals" and not source.has_refusals:
                    continue  # a file from before refusals were recorded, opened read-only
                if table in ("subjects", "subject_keys") and not source.has_subjects:
                    continue  # nor subjects
                selected = columns
                if table == "accounts" and not source.has_subjects:
                    selected = columns.replace("tier, subject", "tier, NULL")
                done, after = 0, None
                with self._conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    while True:
                        page = source._read(
                            f"SELECT {selected} FROM {table}"
                            + ("" if after is None else f" WHERE ({key}) > ({_marks(key)})")
                            + f" ORDER BY {key} LIMIT {READ_PAGE}",
                            after or (),
                        )
                        for row in page:
                            copy.write_row(row)
                        done += len(page)
                        if table == "events" and page:
                            last = (page[-1][0], page[-1][9], page[-1][6])
                            if progress is not None:
                                progress(done, total)
                        if len(page) < READ_PAGE:
                            break
                        after = page[-1][: key.count(",") + 1]
            if last[0] != total:
                raise StoreError(f"copied {last[0]} events of the source's {total}")
            settings = source.has_refusals  # the same schema generation added both
            rows = source._read("SELECT key, value FROM ledger_settings") if settings else []
            for key, value in rows:
                mine = self._setting_in_write(key)
                if mine is None:
                    self._sql.execute("INSERT INTO ledger_settings VALUES (?, ?)", (key, value))
                elif mine != value:
                    raise StoreError(
                        f"{self.path} records {key} {mine!r}, the source {value!r}: they "
                        "must agree (open the target with the source's)"
                    )
            self._flushed(last)  # the next writer's head: the last event copied
            self._head = last
        return last[0], last[1]

    def _setting_in_write(self, key: str) -> str | None:
        """A setting as the open write transaction sees it."""
        row = self._sql.execute("SELECT value FROM ledger_settings WHERE key = ?", (key,))
        found = row.fetchone()
        return None if found is None else str(found[0])

    # --- audit --------------------------------------------------------------------------

    def schema_problems(self) -> list[str]:
        """What ``verify``'s ``schema`` check finds here: an append-only or gapless
        trigger missing, disabled or not ours, and a ``ledger_head`` that is not the
        log's last event (every writer takes its next seq and hash from it)."""
        rows = self._read(
            "SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger AS t"
            " JOIN pg_class AS c ON c.oid = t.tgrelid"
            " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND NOT t.tgisinternal"
        )
        found = {(table, name): str(enabled) for table, name, enabled in rows}
        problems = []
        expected = {
            (table, name)
            for table, name in _TRIGGERS
            if self.has_refusals or table not in ("refusals", "ledger_settings")
        }  # a schema-2 ledger opened read-only has neither table yet
        for table, name in sorted(expected):
            state = found.get((table, name))
            if state is None:
                problems.append(f"trigger {name} on {table} is missing")
            elif state != "O":
                problems.append(f"trigger {name} on {table} is disabled")
        for table, name in sorted(set(found) - expected):
            problems.append(f"trigger {name} on {table} is not one this code creates")
        head = self._read("SELECT seq, hash FROM ledger_head WHERE one = 1")
        seq, digest = self.head()
        if not head or (head[0][0], bytes(head[0][1])) != (seq, digest):
            problems.append(
                f"ledger_head says {head[0][0] if head else 'nothing'}, the log ends at {seq}"
            )
        return problems

    # --- reads --------------------------------------------------------------------------

    def _stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        try:
            # a server-side cursor inside a transaction (a snapshot), else one read
            name = "satang_stream" if self._in_transaction() else ""
            with self._conn.cursor(name=name) as cursor:
                cursor.execute(self._sql._sql(sql), ())
                while rows := cursor.fetchmany(READ_PAGE):
                    yield from rows
        except self._ERRORS as exc:
            raise self._error(exc) from exc

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Hold one read snapshot (``REPEATABLE READ``) for the block. Not nested."""
        if self._in_transaction():
            from ledger.errors import LedgerError

            raise LedgerError("snapshot() is already open on this Ledger; it does not nest")
        try:
            self._conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        except self._psycopg.Error as exc:
            raise self._error(exc) from exc
        self._snapshot_thread = threading.get_ident()
        try:
            yield
        finally:
            self._snapshot_thread = None
            if not self._conn.closed and self._in_transaction():
                try:
                    self._conn.execute("COMMIT")
                except self._psycopg.Error as exc:
                    raise self._error(exc) from exc

    def holds_snapshot(self) -> bool:
        return self._snapshot_thread == threading.get_ident()

    def close(self) -> None:
        self._conn.close()
