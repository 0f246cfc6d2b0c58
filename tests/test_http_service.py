"""The example wallet service (examples/13_http_service.py) under concurrent clients.

Client threads send payments, transfers and top-ups with their own idempotency keys,
retry some (same key and body: the same answer, marked a replay), reuse keys with other
bodies (409), overdraw on purpose (refused, and still refused on retry) and abandon some
requests (sent, socket closed unread; their outcome is found by key afterwards). The
client keeps its own books from the answers it got; at the end every wallet's balance
must equal those books, the log must hold each accepted key exactly once and nothing
else, and the audit must pass. Once with the server in this process, once with two
server processes on one ledger file.
"""

from __future__ import annotations

import importlib.util
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ledger import Ledger
from ledger.audit import verify
from ledger.errors import RejectCategory, RejectCode
from projections.runner import Runner

ROOT = Path(__file__).parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "wallet_http_service", ROOT / "examples" / "13_http_service.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


svc = _load()

WALLETS = 12
MERCHANTS = 2
SEED_MINOR = 500_00
THREADS = 8


# --- the client's own books ------------------------------------------------------------


@dataclass
class Books:
    """What the clients learnt from their answers, shared by their threads."""

    balances: Counter[str] = field(default_factory=Counter)
    accepted: set[str] = field(default_factory=set)
    """Command ids the clients saw accepted (each applied to ``balances`` once)."""
    seen: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.seen[what] += n

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    def record(self, kind: str, body: dict[str, Any], key: str, reply: Any) -> None:
        """Apply an answer: an accepted key moves the books once, whatever answer (first,
        replay, look-up) brought the news."""
        if reply.status != 201:
            return
        command_id = f"{svc.KEY_PREFIX[kind]}:{key}"
        if reply.body.get("command_id") != command_id:
            self.problem(f"{key}: answered for {reply.body.get('command_id')}")
        with self.lock:
            if command_id in self.accepted:
                if not reply.replayed:
                    self.problems.append(f"{command_id} accepted twice, not as a replay")
                return
            self.accepted.add(command_id)
            amount = body["amount_minor"]
            wallet = f"wallet:{body['wallet']}"
            if kind == "topups":
                self.balances[wallet] += amount
            elif kind == "payments":
                self.balances[wallet] -= amount
                self.balances[f"merchant:{body['merchant']}:payable"] += amount - body["fee_minor"]
            else:
                self.balances[wallet] -= amount
                self.balances[f"wallet:{body['to']}"] += amount


def _send(client: Any, kind: str, body: dict[str, Any], key: str, books: Books) -> Any:
    """POST with the same key until it is not 503 (bounded)."""
    for _ in range(40):
        reply = client.call("POST", f"/{kind}", body, key=key)
        if reply.status != 503:
            return reply
        books.note("503")
        time.sleep(0.05)
    raise AssertionError(f"{key}: still busy after 40 tries")


def _setup(client: Any, books: Books) -> None:
    for i in range(MERCHANTS):
        assert client.call("PUT", f"/merchants/m{i}").status == 201
    for i in range(WALLETS):
        assert client.call("PUT", f"/wallets/w{i}", {"currency": "THB"}).status == 201
        body = {"wallet": f"w{i}", "amount_minor": SEED_MINOR, "channel": "bank"}
        reply = _send(client, "topups", body, f"seed-{i}", books)
        assert reply.status == 201, reply.body
        books.record("topups", body, f"seed-{i}", reply)


@dataclass
class Sent:
    kind: str
    body: dict[str, Any]
    key: str
    reply: Any


def _worker(n: int, ports: list[int], seconds: float, books: Books, lost: list[Sent]) -> None:
    """One client thread: its own server first, the others for some retries."""
    rng = random.Random(n)
    clients = [svc.Client(port) for port in ports]
    home = clients[n % len(clients)]
    history: list[Sent] = []
    deadline = time.monotonic() + seconds
    try:
        for i in range(5_000):
            if time.monotonic() >= deadline:
                break
            key = f"t{n}-{i}"
            src = rng.randrange(WALLETS)
            roll = rng.random()
            if roll < 0.45:
                amount = rng.randrange(1_00, 150_00)
                kind, body = (
                    "payments",
                    {
                        "wallet": f"w{src}",
                        "merchant": f"m{rng.randrange(MERCHANTS)}",
                        "amount_minor": amount,
                        "fee_minor": amount // 100,
                    },
                )
            elif roll < 0.65:
                dst = (src + rng.randrange(1, WALLETS)) % WALLETS
                kind, body = (
                    "transfers",
                    {
                        "wallet": f"w{src}",
                        "to": f"w{dst}",
                        "amount_minor": rng.randrange(1_00, 100_00),
                    },
                )
            elif roll < 0.75:
                kind, body = (
                    "topups",
                    {
                        "wallet": f"w{src}",
                        "amount_minor": rng.randrange(10_00, 200_00),
                        "channel": "promptpay",
                    },
                )
            elif roll < 0.85 and history:
                _retry(rng.choice(history), rng.choice(clients), books)
                continue
            elif roll < 0.90 and history:
                _conflict(rng.choice(history), rng.choice(clients), books)
                continue
            elif roll < 0.95:
                _overdraw(key, src, home, rng.choice(clients), books)
                continue
            else:
                amount = rng.randrange(1_00, 50_00)
                body = {
                    "wallet": f"w{src}",
                    "merchant": "m0",
                    "amount_minor": amount,
                    "fee_minor": 0,
                }
                svc.abandon(home.port, "POST", "/payments", body, key)
                books.note("abandoned")
                with books.lock:
                    lost.append(Sent("payments", body, key, None))
                continue
            reply = _send(home, kind, body, key, books)
            if reply.replayed or "outcome" not in reply.body:
                books.problem(f"{key}: first answer {reply.status} {reply.body}")
                continue
            books.record(kind, body, key, reply)
            books.note(f"{kind} {reply.status}")
            history.append(Sent(kind, body, key, reply))
    except Exception as exc:  # a thread's failure fails the test, with what it was
        books.problem(f"thread {n}: {type(exc).__name__}: {exc}")
    finally:
        for client in clients:
            client.close()


def _retry(first: Sent, client: Any, books: Books) -> None:
    """Same key, same body, any server: the same status and bytes, marked a replay."""
    again = _send(client, first.kind, first.body, first.key, books)
    if (again.status, again.raw, again.replayed) != (first.reply.status, first.reply.raw, True):
        books.problem(
            f"{first.key}: retry got {again.status} {again.raw!r}, first {first.reply.raw!r}"
        )
    books.note("retry")


def _conflict(first: Sent, client: Any, books: Books) -> None:
    """Same key, another body: 409 idempotency_conflict, and nothing moves."""
    other = {**first.body, "amount_minor": first.body["amount_minor"] + 1}
    reply = _send(client, first.kind, other, first.key, books)
    if (reply.status, reply.code) != (409, "idempotency_conflict"):
        books.problem(f"{first.key}: other body got {reply.status} {reply.body}")
    books.note("conflict")


def _overdraw(key: str, src: int, client: Any, other: Any, books: Books) -> None:
    """A payment no wallet can afford: refused, and still refused on retry."""
    body = {"wallet": f"w{src}", "merchant": "m1", "amount_minor": 10**12, "fee_minor": 0}
    first = _send(client, "payments", body, key, books)
    again = _send(other, "payments", body, key, books)
    if (first.status, first.code, first.replayed) != (409, "insufficient_funds", False):
        books.problem(f"{key}: overdraft got {first.status} {first.body}")
    if (again.status, again.raw, again.replayed) != (409, first.raw, True):
        books.problem(f"{key}: overdraft retry got {again.status} {again.body}")
    books.note("overdraw")


def _settle(lost: list[Sent], port: int, books: Books) -> None:
    """The abandoned requests: their outcome by key; one never decided is sent again
    with its key (what a client does after a lost answer)."""
    client = svc.Client(port)
    try:
        for sent in lost:
            reply = svc.settle(client, sent.kind, sent.key, wait_s=5.0)
            if reply.code == "request_not_found":
                books.note("abandoned, sent again")
                reply = _send(client, sent.kind, sent.body, sent.key, books)
            elif not reply.replayed:
                books.problem(f"{sent.key}: a look-up not marked a replay")
            if reply.status not in (201, 409):
                books.problem(f"{sent.key}: settled as {reply.status} {reply.body}")
            books.record(sent.kind, sent.body, sent.key, reply)
            books.note(f"abandoned {reply.status}")
    finally:
        client.close()


def _drive(ports: list[int], seconds: float) -> Books:
    books = Books()
    setup = svc.Client(ports[0])
    try:
        _setup(setup, books)
    finally:
        setup.close()
    lost: list[Sent] = []
    threads = [
        threading.Thread(target=_worker, args=(n, ports, seconds, books, lost))
        for n in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 60)
        assert not t.is_alive(), "a client thread did not stop"
    _settle(lost, ports[-1], books)
    return books


def _check(books: Books, db: Path) -> None:
    """The books the clients kept are the ledger's; each accepted key is in the log once."""
    assert books.problems == []
    for what in ("retry", "conflict", "overdraw", "abandoned", "payments 201", "payments 409"):
        assert books.seen[what] > 0, f"the run never did {what}: {books.seen}"
    with Ledger.open(db) as book:
        for account, expected in books.balances.items():
            assert book.balance(account).balance == expected, account
        posted = Counter(
            r.command_id
            for r in book.events()
            if r.command_id.split(":")[0] in ("topup", "pay", "p2p")
        )
        assert set(posted) == books.accepted
        assert max(posted.values()) == 1
        report = verify(book)
        assert report.ok, report.findings


# --- one process, threads --------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Any, Ledger, Path]]:
    """The service in this process on a free port of 127.0.0.1: (server, book, db)."""
    db = tmp_path / "wallet.db"
    with Ledger.open(db, busy_timeout_ms=300) as book, Runner(book, tmp_path / "reads.db") as reads:
        book.open_chart()
        server = svc.make_server(book, reads)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        try:
            yield server, book, db
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


@pytest.mark.slow  # a four-second load of client threads
def test_threads_on_one_process_keep_the_clients_books(served: tuple[Any, Ledger, Path]) -> None:
    server, book, db = served
    books = _drive([server.server_port], seconds=4.0)
    client = svc.Client(server.server_port)
    try:
        for i in range(WALLETS):
            got = client.call("GET", f"/wallets/w{i}").body
            assert got["balance"]["minor"] == books.balances[f"wallet:w{i}"]
    finally:
        client.close()
    server.shutdown()  # stopped, and the ledger closed, before it is checked
    server.server_close()
    book.close()
    _check(books, db)


# --- two processes, one file -------------------------------------------------------------


@pytest.mark.slow  # two server processes
def test_two_server_processes_on_one_file_keep_the_clients_books(tmp_path: Path) -> None:
    db, reads = tmp_path / "wallet.db", tmp_path / "reads.db"
    servers = []
    try:
        for _ in range(2):
            servers.append(svc.start_server(db, reads, seconds=120))
        books = _drive([port for _, port in servers], seconds=3.0)
    finally:
        codes = [svc.stop_server(proc) for proc, _ in servers]
    assert codes == [0, 0]
    _check(books, db)


# --- the answers, one by one ---------------------------------------------------------------


@pytest.fixture
def client(served: tuple[Any, Ledger, Path]) -> Iterator[Any]:
    server, _, _ = served
    c = svc.Client(server.server_port)
    try:
        assert c.call("PUT", "/wallets/a").status == 201
        assert c.call("PUT", "/wallets/b").status == 201
        assert c.call("PUT", "/merchants/shop").status == 201
        top = {"wallet": "a", "amount": "100.00", "channel": "bank"}
        assert c.call("POST", "/topups", top, key="k0").status == 201
        yield c
    finally:
        c.close()


def test_a_refusal_is_answered_by_its_category(client: Any) -> None:
    pay = {"wallet": "a", "merchant": "shop", "amount_minor": 10_00}
    cases = [
        ("payments", {**pay, "wallet": "ghost"}, "account_not_found"),
        ("payments", {**pay, "amount_minor": 500_00}, "insufficient_funds"),
        ("transfers", {"wallet": "a", "to": "a", "amount_minor": 1}, "field_invalid"),
        ("payments", {**pay, "amount_minor": 0}, "amount_invalid"),
        ("payments", {**pay, "fee_minor": 10_00}, "amount_invalid"),
        ("topups", {"wallet": "a", "amount_minor": 1, "channel": "cash"}, "field_invalid"),
    ]
    for n, (kind, body, code) in enumerate(cases):
        category = RejectCode(code).category
        reply = client.call("POST", f"/{kind}", body, key=f"c{n}")
        assert (reply.status, reply.code) == (svc.STATUS_OF_CATEGORY[category], code)
        assert reply.body["error"]["category"] == category.value
        assert reply.body["outcome"] == "rejected" and not reply.replayed
        again = client.call("POST", f"/{kind}", body, key=f"c{n}")
        assert (again.status, again.body) == (reply.status, reply.body)
        looked = client.call("GET", f"/{kind}/c{n}")
        if looked.code == "request_not_found":  # only a refusal on its face goes unrecorded
            assert category is RejectCategory.MALFORMED
        else:
            assert (looked.status, looked.raw, looked.replayed) == (reply.status, reply.raw, True)
    assert svc.STATUS_OF_CATEGORY[RejectCode.ACCOUNT_NOT_FOUND.category] == 404
    assert svc.STATUS_OF_CATEGORY[RejectCode.INSUFFICIENT_FUNDS.category] == 409
    reply = client.call("POST", "/payments", pay, key="c0")
    assert (reply.status, reply.code) == (409, "idempotency_conflict")
    assert reply.body["error"]["category"] == "conflict"
    reply = client.call("PUT", "/wallets/c", {"currency": "XYZ"})
    assert (reply.status, reply.code, reply.body["error"]["category"]) == (
        400,
        "currency_invalid",
        "malformed",
    )


def test_an_accepted_answer_shows_the_callers_wallet_in_both_forms(client: Any) -> None:
    pay = {"wallet": "a", "merchant": "shop", "amount": "12.34", "fee": "0.12"}
    reply = client.call("POST", "/payments", pay, key="p1")
    assert reply.status == 201 and not reply.replayed
    assert reply.headers["Location"] == "/payments/p1"
    assert reply.body["account"] == "wallet:a"
    assert reply.body["balance"] == {"minor": 87_66, "decimal": "87.66"}
    # the payer sees its own wallet only: not the merchant's, the fees', the trust's
    for other in (b"merchant:", b"income:", b"bank:"):
        assert other not in reply.raw
    looked = client.call("GET", "/payments/p1")
    assert (looked.status, looked.raw, looked.replayed) == (201, reply.raw, True)
    # a transfer answers with the sender's wallet, not the receiver's, also when looked up
    sent = client.call(
        "POST", "/transfers", {"wallet": "a", "to": "b", "amount_minor": 66}, key="p1"
    )
    assert (sent.status, sent.body["account"], sent.body["balance"]["minor"]) == (
        201,
        "wallet:a",
        87_00,
    )
    assert b"wallet:b" not in sent.raw
    assert client.call("GET", "/transfers/p1").raw == sent.raw
    # the same key on another endpoint is another command id
    assert client.call("GET", "/topups/p1").code == "request_not_found"
    wallet = client.call("GET", "/wallets/a").body
    assert wallet["available"] == {"minor": 87_00, "decimal": "87.00"}


@pytest.mark.parametrize(
    "method,path,body,key,status,code",
    [
        (
            "POST",
            "/payments",
            {"wallet": "a", "merchant": "shop", "amount_minor": 1},
            None,
            400,
            "idempotency_key_missing",
        ),
        (
            "POST",
            "/payments",
            {"wallet": "a", "merchant": "shop", "amount_minor": 1},
            "a:b",
            400,
            "idempotency_key_invalid",
        ),
        (
            "POST",
            "/payments",
            {"wallet": "a", "merchant": "shop", "amount_minor": True},
            "k",
            400,
            "request_invalid",
        ),
        (
            "POST",
            "/payments",
            {"wallet": "a", "merchant": "shop", "amount_minor": 1.5},
            "k",
            400,
            "request_invalid",
        ),
        (
            "POST",
            "/payments",
            {"wallet": "a", "merchant": "shop", "amount": "1.005"},
            "k",
            400,
            "request_invalid",
        ),
        (
            "POST",
            "/payments",
            {"wallet": "a", "merchant": "shop", "amount": "1", "amount_minor": 100},
            "k",
            400,
            "request_invalid",
        ),
        (
            "POST",
            "/payments",
            {"wallet": "a", "merchant": "shop", "amount_minor": 1, "tip": 5},
            "k",
            400,
            "request_invalid",
        ),
        (
            "POST",
            "/payments",
            {"wallet": "ghost", "merchant": "shop", "amount": "1.00"},
            "k",
            404,
            "account_not_found",
        ),
        (
            "POST",
            "/payments",
            {"wallet": "a/b", "merchant": "shop", "amount_minor": 1},
            "k",
            400,
            "request_invalid",
        ),
        ("POST", "/payments", ["not", "an", "object"], "k", 400, "request_invalid"),
        ("DELETE", "/wallets/a", None, None, 405, "method_not_allowed"),
        ("POST", "/wallets/a", None, None, 405, "method_not_allowed"),
        ("GET", "/nowhere", None, None, 404, "no_route"),
        ("GET", "/payments/" + "x" * 101, None, None, 400, "idempotency_key_invalid"),
        ("GET", "/wallets/ghost", None, None, 404, "account_not_found"),
        ("GET", "/wallets/a/statement?limit=0", None, None, 400, "request_invalid"),
        ("GET", "/wallets/a/statement?after=1.2", None, None, 400, "request_invalid"),
    ],
)
def test_a_bad_request_is_refused_before_the_ledger(
    client: Any,
    served: tuple[Any, Ledger, Path],
    method: str,
    path: str,
    body: Any,
    key: str | None,
    status: int,
    code: str,
) -> None:
    _, book, _ = served
    head = book.head()
    reply = client.call(method, path, body, key=key)
    assert (reply.status, reply.code) == (status, code), reply.body
    assert "outcome" not in reply.body  # not a ledger's answer: nothing recorded
    if status == 405:
        assert reply.headers["Allow"] == "GET, PUT"
    assert book.head() == head
    if key == "k":
        assert client.call("GET", "/payments/k").code == "request_not_found"


def test_a_body_too_large_or_not_json_is_refused(client: Any) -> None:
    conn = client.conn
    conn.request("POST", "/payments", body=b"{" * 10, headers={"Idempotency-Key": "k"})
    response = conn.getresponse()
    assert (response.status, b"request_invalid" in response.read()) == (400, True)
    conn.request(
        "POST", "/payments", body=b" " * (svc.BODY_MAX + 1), headers={"Idempotency-Key": "k"}
    )
    response = conn.getresponse()
    assert (response.status, b"body_too_large" in response.read()) == (413, True)


def test_a_busy_ledger_is_503_and_the_same_key_passes_after(
    client: Any, served: tuple[Any, Ledger, Path]
) -> None:
    _, book, db = served
    job = sqlite3.connect(db, isolation_level=None)
    try:
        job.execute("BEGIN IMMEDIATE")  # another writer holds the lock past busy_timeout
        pay = {"wallet": "a", "merchant": "shop", "amount_minor": 5_00}
        busy = client.call("POST", "/payments", pay, key="b1")
        job.execute("ROLLBACK")
    finally:
        job.close()
    assert (busy.status, busy.code, busy.headers["Retry-After"]) == (503, "busy", "1")
    again = client.call("POST", "/payments", pay, key="b1")
    assert (again.status, again.replayed) == (201, False)  # nothing was written the first time
    assert book.balance("wallet:a").balance == 95_00


def test_the_statement_reads_its_own_writes_in_pages(client: Any) -> None:
    for n in range(5):
        pay = {"wallet": "a", "merchant": "shop", "amount_minor": (n + 1) * 100}
        assert client.call("POST", "/payments", pay, key=f"s{n}").status == 201
    first = client.call("GET", "/wallets/a/statement?limit=4").body
    assert [line["command_id"] for line in first["lines"]] == [
        "topup:k0",
        "pay:s0",
        "pay:s1",
        "pay:s2",
    ]
    rest = client.call("GET", f"/wallets/a/statement?limit=4&after={first['next']}").body
    assert [line["command_id"] for line in rest["lines"]] == ["pay:s3", "pay:s4"]
    assert rest["next"] is None
    assert rest["lines"][-1]["balance"] == {"minor": 100_00 - 1500, "decimal": "85.00"}
    assert rest["opening"] == first["lines"][-1]["balance"]


def test_the_status_table_covers_every_category_as_the_docs_say() -> None:
    assert set(svc.STATUS_OF_CATEGORY) == set(RejectCategory)
    page = (ROOT / "docs" / "serving.md").read_text()
    documented = dict(re.findall(r"^\| `([a-z_]+)` \| (\d{3}) ", page, re.M))
    assert documented == {c.value: str(s) for c, s in svc.STATUS_OF_CATEGORY.items()}


# --- the script's other modes ------------------------------------------------------------


def test_serve_stops_by_itself(tmp_path: Path) -> None:
    proc, port = svc.start_server(tmp_path / "w.db", tmp_path / "w.reads", seconds=1)
    client = svc.Client(port)
    try:
        assert client.call("PUT", "/wallets/a").status == 201
    finally:
        client.close()
    assert proc.wait(timeout=30) == 0
    assert proc.stdout is not None
    proc.stdout.close()
    with Ledger.open(tmp_path / "w.db") as book:
        assert book.balance("wallet:a").balance == 0


@pytest.mark.slow  # the script starts two server processes
def test_the_load_driver_prints_its_figures(tmp_path: Path) -> None:
    script = ROOT / "examples" / "13_http_service.py"
    args = ["--load", "--processes", "2", "--threads", "2", "--seconds", "1"]
    done = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(
        r"^requests answered: [\d,]+ \([\d,]+/s\); latency p50 [\d.]+ ms, p99 ", out, re.M
    )
    assert re.search(r"^statuses: .*201 x[\d,]+", out, re.M)
    assert re.search(r"^per server: #1 [\d,]+, #2 [\d,]+$", out, re.M)
    assert out.rstrip().endswith("servers exited [0, 0]; audit: ok")
    assert list(tmp_path.iterdir()) == []
