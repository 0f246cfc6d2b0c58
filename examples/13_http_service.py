"""A wallet HTTP service on Satang, on the standard library only: the shape to copy.

Endpoints (JSON in, JSON out; amounts go in as integer minor units, ``amount_minor``, or
as an exact decimal string, ``amount``, and come back as both)::

    PUT  /wallets/{name}             open wallet:{name}         {"currency": "THB"}
    PUT  /merchants/{name}           open merchant:{name}:payable
    POST /topups       + key         TopUp     {"wallet", "amount_minor"|"amount", "channel",
                                                "fee_minor"|"fee"}
    POST /payments     + key         Pay       {"wallet", "merchant", "amount_minor"|"amount",
                                                "fee_minor"|"fee", "reference"}
    POST /transfers    + key         Transfer  {"wallet", "to", "amount_minor"|"amount", "memo"}
    GET  /topups/{key}, /payments/{key}, /transfers/{key}   what that key was answered
    GET  /wallets/{name}             balance and available funds
    GET  /wallets/{name}/statement   ?limit=1..100&after=CURSOR, from the read models

``key`` is the ``Idempotency-Key`` header. It becomes the command id ``topup:{key}``,
``pay:{key}`` or ``p2p:{key}``: one prefix per endpoint, so a key cannot collide across
endpoints, and a key has no ``:``, so no key can forge another prefix. Opening an
account needs no key: the chart's id ``open:{account}`` makes a repeated PUT a replay.

A refusal's HTTP status comes from its category (``STATUS_OF_CATEGORY``). A replayed
answer has the status and the bytes of the body the first one had, and the header
``Idempotent-Replayed: true``. ``StoreBusy`` is ``503`` with ``Retry-After``: nothing was
written, send the same request again with the same key. docs/serving.md says why.

Run from the repository root:

* ``python examples/13_http_service.py``: a short scripted story over real HTTP on
  127.0.0.1, in a temporary folder that is removed afterwards (the output is the same on
  every run);
* ``python examples/13_http_service.py --serve --db wallet.db --port 8080``: just serve
  (on 127.0.0.1 only; ``--port 0`` picks a free port and prints it);
* ``python examples/13_http_service.py --load --processes 2 --threads 8 --seconds 10``:
  one or two server processes on one ledger file, driven from client threads, with
  retries and abandoned requests; prints requests/s, latency, statuses and the audit.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ledger import (
    Accepted,
    Command,
    Ledger,
    Pay,
    Rejected,
    TopUp,
    Transfer,
    format_amount,
    parse_amount,
)
from ledger.accounts import Balance
from ledger.audit import verify
from ledger.errors import (
    InvalidCommand,
    LedgerError,
    RejectCategory,
    StoreBusy,
    UnknownAccount,
    UnknownCurrency,
    shown,
)
from ledger.events import PaymentMade, TopUpReceived, Transferred
from projections.runner import Runner
from projections.statements import statement

HOST = "127.0.0.1"
"""The service listens on loopback only: put a reverse proxy (TLS, authentication,
per-client rate limits) in front of it to serve anything else."""

STATUS_OF_CATEGORY: dict[RejectCategory, int] = {
    # wrong on its face (a zero amount, a fee not below the amount, a transfer to oneself,
    # an unknown channel): fix it, as a body that fails parsing
    RejectCategory.MALFORMED: 400,
    # an account, payment or hold it names does not exist
    RejectCategory.NOT_FOUND: 404,
    # the key was used for another request, or the thing exists already
    RejectCategory.CONFLICT: 409,
    # refused on the books as they stand (funds, a frozen account, a limit reached):
    # it may pass later, with a NEW key
    RejectCategory.STATE: 409,
    # refused by policy, the clock or the calendar (a closed period, the backdating
    # window): change the request, or ask an operator
    RejectCategory.POLICY: 422,
}
"""The HTTP status of a ``Rejected``, from ``code.category`` (docs/serving.md)."""

KEY_PREFIX = {"topups": "topup", "payments": "pay", "transfers": "p2p"}
"""Endpoint -> the prefix of the command ids its idempotency keys become."""
KEY = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
"""An idempotency key: 1..100 of ``[A-Za-z0-9_.-]`` (no ``:``; with the prefix, at most
the ledger's 128 characters of a command id)."""
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
"""A wallet's or merchant's name in a path."""
BODY_MAX = 64 * 1024
"""Bytes of a request body the service reads at most."""
RETRY_AFTER_S = 1
"""Seconds a 503 asks the client to wait before sending the same request again."""
REPLAYED = "Idempotent-Replayed"
"""The header that marks an answer given before, to the same key and body."""
STATEMENT_LIMIT = 100
DIGITS = re.compile(r"[0-9]{1,18}")
"""A count in a header or a query: ASCII digits only (``str.isdigit`` takes "²")."""


# --- the service: a request in, an answer out --------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the service answers: a status, a JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        """The body's bytes: sorted keys, no spaces, so the same answer is the same bytes."""
        return json.dumps(self.body, sort_keys=True, separators=(",", ":")).encode()


class ApiError(Exception):
    """A request refused before it reached the ledger (nothing was decided or recorded)."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.answer = Answer(status, {"error": {"code": code, "detail": detail}}, headers or {})


def money(amount_minor: int, currency: str) -> dict[str, Any]:
    """An amount as integer minor units and as an exact decimal string."""
    return {"minor": amount_minor, "decimal": format_amount(amount_minor, currency, grouping=False)}


def balance_json(b: Balance) -> dict[str, Any]:
    """A balance as the service shows it."""
    return {
        "account": b.account,
        "currency": b.currency,
        "balance": money(b.balance, b.currency),
        "available": money(b.available, b.currency),
    }


def result_answer(result: Accepted | Rejected, key: str | None, account: str | None) -> Answer:
    """The answer to a decided command: built from the result, the key and the caller's
    own ``account`` alone, so a replay, or a look-up of the key later, gives the same
    status and the same bytes. Of the balances the command left (``Accepted.balances``)
    it shows the caller's account only: never a system account (the trust account's
    balance is the whole float), a merchant's, or another customer's wallet."""
    body: dict[str, Any] = {} if key is None else {"key": key}
    if isinstance(result, Accepted):
        body |= {"command_id": result.id, "outcome": "accepted", "seq": result.seq}
        if account is not None:
            body["account"] = account
        for b in result.balances:
            if b.account == account:
                body |= balance_json(b)
        status = 201
    else:
        category = result.code.category
        body |= {
            "command_id": result.id,
            "outcome": "rejected",
            "error": {
                "code": result.code.value,
                "category": category.value,
                "detail": result.detail,
                "subject": result.subject,
            },
        }
        status = STATUS_OF_CATEGORY[category]
    return Answer(status, body, {REPLAYED: "true"} if result.replayed else {})


class _Fields:
    """The fields of one JSON request body, each taken once, the rest refused."""

    def __init__(self, raw: bytes | None) -> None:
        if not raw:
            self.data: dict[str, Any] = {}
            return
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, "request_invalid", f"the body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ApiError(400, "request_invalid", "the body must be a JSON object")
        self.data = data

    def text(self, name: str, default: str | None = None) -> str:
        given = name in self.data
        value = self.data.pop(name, default)
        if not isinstance(value, str):
            why = f"is a string, not {shown(value)}" if given else "is missing"
            raise ApiError(400, "request_invalid", f"field {name!r} {why}")
        return value

    def name(self, name: str) -> str:
        value = self.text(name)
        if not NAME.fullmatch(value):
            raise ApiError(
                400, "request_invalid", f"{name} is 1..64 of [A-Za-z0-9_.-], not {shown(value)}"
            )
        return value

    def amount(self, name: str, currency: Callable[[], str], default: int | None = None) -> int:
        """``{name}_minor`` (an integer) or ``{name}`` (an exact decimal string in the
        paying wallet's currency); exactly one of them unless there is a default."""
        minor = self.data.pop(f"{name}_minor", None)
        decimal = self.data.pop(name, None)
        if minor is not None and decimal is not None:
            raise ApiError(400, "request_invalid", f"give {name}_minor or {name}, not both")
        if minor is not None:
            if type(minor) is not int:
                raise ApiError(
                    400, "request_invalid", f"{name}_minor is an integer, not {shown(minor)}"
                )
            return minor
        if decimal is not None:
            if not isinstance(decimal, str):
                raise ApiError(
                    400, "request_invalid", f"{name} is a decimal string, not {shown(decimal)}"
                )
            try:
                return parse_amount(decimal, currency())
            except (InvalidCommand, UnknownCurrency) as exc:
                raise ApiError(400, "request_invalid", f"{name}: {exc}") from exc
        if default is None:
            raise ApiError(400, "request_invalid", f"give {name}_minor or {name}")
        return default

    def done(self) -> None:
        if self.data:
            unknown = ", ".join(sorted(self.data))
            raise ApiError(400, "request_invalid", f"unknown fields: {shown(unknown)}")


class WalletApi:
    """The service's logic, without the socket: routes a request to the ledger and turns
    what it says into an :class:`Answer`. One per process; called from many threads."""

    def __init__(self, book: Ledger, reads: Runner) -> None:
        self.book = book
        self.reads = reads
        self._reads_lock = threading.Lock()  # one Runner, one connection: one thread at a time

    # routing ------------------------------------------------------------------------

    def handle(self, method: str, target: str, key: str | None, raw: bytes) -> Answer:
        """Answer one request (``key``: its Idempotency-Key header, if any); never raises."""
        try:
            return self._route(method, target, key, raw)
        except ApiError as exc:
            return exc.answer
        except StoreBusy:
            detail = "the ledger was busy and wrote nothing: send the same request again"
            return Answer(
                503,
                {"error": {"code": "busy", "detail": detail}},
                {"Retry-After": str(RETRY_AFTER_S)},
            )
        except UnknownAccount as exc:
            return Answer(404, {"error": {"code": "account_not_found", "detail": str(exc)}})
        except InvalidCommand as exc:
            return Answer(400, {"error": {"code": "request_invalid", "detail": str(exc)}})
        except LedgerError as exc:  # a closed ledger, a broken store: not this request's fault
            return Answer(503, {"error": {"code": "unavailable", "detail": type(exc).__name__}})
        except Exception:  # a bug: logged, and the client learns nothing of the inside
            traceback.print_exc()
            return Answer(500, {"error": {"code": "internal", "detail": "internal error"}})

    def _route(self, method: str, target: str, key: str | None, raw: bytes) -> Answer:
        url = urlsplit(target)
        parts = url.path.split("/")[1:]
        try:
            query = parse_qs(url.query, max_num_fields=8)
        except ValueError as exc:
            raise ApiError(400, "request_invalid", "too many query fields") from exc
        match method, parts:
            case "PUT", ["wallets", name]:
                return self._open(_Fields(raw), _name(name), wallet=True)
            case "PUT", ["merchants", name]:
                return self._open(_Fields(raw), _name(name), wallet=False)
            case "GET", ["wallets", name]:
                b = self.book.balance(f"wallet:{_name(name)}")
                return Answer(200, balance_json(b))
            case "GET", ["wallets", name, "statement"]:
                return self._statement(f"wallet:{_name(name)}", query)
            case "POST", [("topups" | "payments" | "transfers") as kind]:
                return self._command(kind, _key(key), _Fields(raw))
            case "GET", [("topups" | "payments" | "transfers") as kind, path_key]:
                return self._result(kind, _key_value(path_key))
        allowed = _allowed(parts)
        if allowed:
            raise ApiError(
                405, "method_not_allowed", f"{method} is not one of {allowed}", {"Allow": allowed}
            )
        raise ApiError(404, "no_route", f"no endpoint at {shown(url.path)}")

    # writing ------------------------------------------------------------------------

    def _open(self, fields: _Fields, name: str, *, wallet: bool) -> Answer:
        chart = self.book.chart
        currency = fields.text("currency", chart.currency)
        fields.done()
        if wallet:
            command = chart.open_wallet(f"wallet:{name}", currency)
        else:
            command = chart.open_merchant(name, currency)
        return result_answer(self.book.submit(command), None, command.account)

    def _command(self, kind: str, key: str, fields: _Fields) -> Answer:
        command_id = f"{KEY_PREFIX[kind]}:{key}"
        wallet = f"wallet:{fields.name('wallet')}"

        def currency() -> str:
            return self.book.account(wallet).currency  # UnknownAccount: 404

        command: Command
        if kind == "topups":
            command = TopUp(
                id=command_id,
                wallet=wallet,
                amount_minor=fields.amount("amount", currency),
                fee_minor=fields.amount("fee", currency, default=0),
                channel=fields.text("channel"),
            )
        elif kind == "payments":
            command = Pay(
                id=command_id,
                wallet=wallet,
                merchant=fields.name("merchant"),
                amount_minor=fields.amount("amount", currency),
                fee_minor=fields.amount("fee", currency, default=0),
                reference=fields.text("reference", ""),
            )
        else:
            command = Transfer(
                id=command_id,
                source=wallet,
                destination=f"wallet:{fields.name('to')}",
                amount_minor=fields.amount("amount", currency),
                memo=fields.text("memo", ""),
            )
        fields.done()
        answer = result_answer(self.book.submit(command), key, wallet)
        answer.headers["Location"] = f"/{kind}/{key}"
        return answer

    # reading ------------------------------------------------------------------------

    def _result(self, kind: str, key: str) -> Answer:
        """What the request with this key was answered, status and body; marked a replay."""
        result = self.book.result(f"{KEY_PREFIX[kind]}:{key}")
        if result is None:
            raise ApiError(
                404,
                "request_not_found",
                "no request with this key was decided: it never arrived, was refused before "
                "the ledger (400), or is still in flight; send it again with the same key",
            )
        owner = self._owner(result.seq) if isinstance(result, Accepted) else None
        answer = result_answer(result, key, owner)
        answer.headers[REPLAYED] = "true"
        answer.headers["Location"] = f"/{kind}/{key}"
        return answer

    def _owner(self, seq: int) -> str | None:
        """The wallet that sent the command whose event is at ``seq`` (one event each)."""
        found = next(iter(self.book.events(after=seq - 1, limit=1)), None)
        event = None if found is None else found.event
        if isinstance(event, Transferred):
            return event.source
        if isinstance(event, (TopUpReceived, PaymentMade)):
            return event.wallet
        return None

    def _statement(self, account: str, query: dict[str, list[str]]) -> Answer:
        limit = _int_param(query, "limit", 20, 1, STATEMENT_LIMIT)
        after = _cursor(query)
        # Caught up on the request, under one lock: a client reads its own writes, and
        # no thread of its own folds in the background (docs/serving.md).
        with self._reads_lock:
            self.reads.catch_up()
            page = statement(self.reads, account, after=after, limit=limit)
            seq = self.reads.seq
        cur = page.currency
        lines = [
            {
                "seq": line.seq,
                "leg": line.leg,
                "type": line.type,
                "command_id": line.command_id,
                "effective_at": line.effective_at.isoformat(),
                "change": money(line.signed_minor, cur),
                "balance": money(line.balance_minor, cur),
            }
            for line in page.lines
        ]
        nxt = None if page.next_after is None else ".".join(map(str, page.next_after))
        body = {
            "account": account,
            "currency": cur,
            "as_of_seq": seq,
            "opening": money(page.opening_minor, cur),
            "lines": lines,
            "next": nxt,
        }
        return Answer(200, body)


def _name(value: str) -> str:
    if not NAME.fullmatch(value):
        raise ApiError(404, "no_route", f"a name is 1..64 of [A-Za-z0-9_.-], not {shown(value)}")
    return value


def _key(key: str | None) -> str:
    if key is None:
        raise ApiError(400, "idempotency_key_missing", "send an Idempotency-Key header")
    return _key_value(key)


def _key_value(key: str) -> str:
    if not KEY.fullmatch(key):
        raise ApiError(
            400, "idempotency_key_invalid", f"a key is 1..100 of [A-Za-z0-9_.-], not {shown(key)}"
        )
    return key


def _allowed(parts: list[str]) -> str:
    """The methods a known path takes ("" if the path is unknown)."""
    match parts:
        case ["wallets", _]:
            return "GET, PUT"
        case ["merchants", _]:
            return "PUT"
        case ["wallets", _, "statement"] | ["topups" | "payments" | "transfers", _]:
            return "GET"
        case ["topups" | "payments" | "transfers"]:
            return "POST"
    return ""


def _int_param(query: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    values = query.get(name)
    if not values:
        return default
    if len(values) != 1 or not DIGITS.fullmatch(values[0]) or not low <= int(values[0]) <= high:
        raise ApiError(400, "request_invalid", f"{name} is one int in {low}..{high}")
    return int(values[0])


def _cursor(query: dict[str, list[str]]) -> tuple[int, int, int] | None:
    values = query.get("after")
    if not values:
        return None
    parts = values[0].split(".")
    if (
        len(values) != 1
        or len(parts) != 3
        or not all(re.fullmatch(r"-?\d{1,19}", p) for p in parts)
    ):
        raise ApiError(400, "request_invalid", f"after is a page's next, not {shown(values)}")
    a, b, c = (int(p) for p in parts)
    return (a, b, c)


# --- HTTP on the standard library ------------------------------------------------------


class ApiServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` holding the :class:`WalletApi`. Handler threads are joined
    on ``server_close``, so the ledger is closed only after the last request is answered."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, api: WalletApi, port: int) -> None:
        super().__init__((HOST, port), _Handler)
        self.api = api

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (an abandoned request) is no error; others are shown."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """One connection: reads each request's body, asks the :class:`WalletApi`, writes
    its answer in one piece."""

    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length
    timeout = 5  # an idle kept-alive connection is closed after this many seconds
    wbufsize = 64 * 1024  # headers and body leave in one send (flushed after each request)
    disable_nagle_algorithm = True  # else a small answer waits for the client's delayed ACK
    server: ApiServer

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")  # no endpoint takes it: 405 with Allow, in JSON

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        try:
            raw = self._body()
        except ApiError as exc:
            self.close_connection = True  # the body was not read: the stream is out of step
            self._send(exc.answer)
            return
        key = self.headers.get("Idempotency-Key")
        self._send(self.server.api.handle(method, self.path, key, raw))

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise ApiError(411, "length_required", "send the body with a Content-Length")
        length = self.headers.get("Content-Length", "0")
        if not DIGITS.fullmatch(length):
            raise ApiError(400, "request_invalid", f"Content-Length {shown(length)}")
        if int(length) > BODY_MAX:
            raise ApiError(413, "body_too_large", f"a body is at most {BODY_MAX} bytes")
        return self.rfile.read(int(length))

    def _send(self, answer: Answer) -> None:
        payload = answer.payload()
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:  # the client went away: what was decided stands, under its key
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a real service logs each request to its own logger."""


def make_server(book: Ledger, reads: Runner, port: int = 0) -> ApiServer:
    """A server for ``book`` on 127.0.0.1 (``port=0``: a free one, ``server.server_port``).
    Run ``serve_forever()`` in a thread; stop with ``shutdown()`` then ``server_close()``."""
    return ApiServer(WalletApi(book, reads), port)


# --- a client ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One answer as a client sees it."""

    status: int
    body: dict[str, Any]
    raw: bytes
    replayed: bool
    headers: dict[str, str]

    @property
    def code(self) -> str:
        """The error code, "" for a success."""
        error = self.body.get("error")
        return str(error["code"]) if isinstance(error, dict) else ""


class Client:
    """A keep-alive HTTP/1.1 connection to one server, with JSON in and out."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, key: str | None = None
    ) -> Reply:
        """Send one request and read its answer (one reconnect if the kept-alive
        connection was closed by the server meanwhile)."""
        data = b"" if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt == 2:
                    raise
        got = {k: v for k, v in response.getheaders()}
        return Reply(response.status, json.loads(raw), raw, got.get(REPLAYED) == "true", got)

    def close(self) -> None:
        """Close the connection (the server's handler thread for it then ends)."""
        self.conn.close()


def abandon(
    port: int, method: str, path: str, body: dict[str, Any], key: str, timeout: float = 5.0
) -> None:
    """Send a request and close the socket without reading the answer: what a client that
    crashed, or timed out, leaves behind. Its outcome is found later by its key."""
    data = json.dumps(body).encode()
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
        f"Idempotency-Key: {key}\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(head.encode() + data)


def settle(client: Client, kind: str, key: str, wait_s: float = 10.0) -> Reply:
    """The final answer for a key whose answer was lost: look it up until the ledger has
    decided it (bounded), as a client does after a timeout."""
    deadline = time.monotonic() + wait_s
    for _ in range(max(1, int(wait_s / 0.02))):
        reply = client.call("GET", f"/{kind}/{key}")
        if reply.code != "request_not_found" or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return reply


# --- the story ---------------------------------------------------------------------------


def _show(what: str, reply: Reply, note: str = "") -> None:
    replay = " (replay)" if reply.replayed else ""
    said = reply.code or str(reply.body.get("outcome", "ok"))
    print(f"{what:<44} {reply.status} {said}{replay}{'  ' + note if note else ''}")


def _wallet_after(reply: Reply, account: str) -> str:
    if reply.body.get("account") != account or "balance" not in reply.body:
        return ""
    return f"{account} {reply.body['balance']['decimal']}"


def story() -> None:
    """A morning of one wallet, over real HTTP."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "wallet.db"
        # A short busy timeout, so the story's held lock turns into a 503 quickly.
        with (
            Ledger.open(db, busy_timeout_ms=200) as book,
            Runner(book, Path(tmp) / "reads.db") as reads,
        ):
            book.open_chart()
            server = make_server(book, reads)
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
            thread.start()
            client = Client(server.server_port)
            try:
                _story(client, db)
            finally:
                client.close()
                server.shutdown()
                server.server_close()
                thread.join()
            report = verify(book)
            assert report.ok, report.findings
            print(f"\naudit: ok ({report.events_checked} events checked)")


def _story(c: Client, db: Path) -> None:
    for path in ("/wallets/ploy", "/wallets/nok", "/merchants/cafe-ari"):
        _show(f"PUT {path}", c.call("PUT", path, {"currency": "THB"}))
    again = c.call("PUT", "/wallets/ploy", {"currency": "THB"})
    _show("PUT /wallets/ploy again", again)
    assert again.status == 201 and again.replayed

    top = {"wallet": "ploy", "amount": "1000.00", "channel": "promptpay"}
    r = c.call("POST", "/topups", top, key="t-1")
    _show("POST /topups key t-1 1000.00", r, _wallet_after(r, "wallet:ploy"))

    coffee = {"wallet": "ploy", "merchant": "cafe-ari", "amount_minor": 350_00, "fee_minor": 5_25}
    first = c.call("POST", "/payments", coffee, key="p-1")
    _show("POST /payments key p-1 350.00", first, _wallet_after(first, "wallet:ploy"))
    retry = c.call("POST", "/payments", coffee, key="p-1")
    same = retry.status == first.status and retry.raw == first.raw
    _show(
        "POST /payments key p-1 (a retry)",
        retry,
        f"same status and body: {'yes' if same else 'no'}",
    )
    assert same and retry.replayed and not first.replayed
    other = c.call("POST", "/payments", {**coffee, "amount_minor": 360_00}, key="p-1")
    _show("POST /payments key p-1 360.00", other)
    assert other.status == 409

    p2p = {"wallet": "ploy", "to": "nok", "amount": "200.00"}
    r = c.call("POST", "/transfers", p2p, key="x-1")
    _show("POST /transfers key x-1 200.00 to nok", r, _wallet_after(r, "wallet:ploy"))

    big = {"wallet": "ploy", "merchant": "cafe-ari", "amount": "900.00"}
    refused = c.call("POST", "/payments", big, key="p-2")
    _show("POST /payments key p-2 900.00", refused)
    assert refused.status == 409
    r = c.call("POST", "/topups", {**top, "amount": "500.00"}, key="t-2")
    _show("POST /topups key t-2 500.00", r, _wallet_after(r, "wallet:ploy"))
    still = c.call("POST", "/payments", big, key="p-2")
    _show("POST /payments key p-2 (a retry)", still, "a refused key stays refused")
    assert still.status == 409 and still.replayed and still.raw == refused.raw
    r = c.call("POST", "/payments", big, key="p-3")
    _show("POST /payments key p-3 900.00 (a new key)", r, _wallet_after(r, "wallet:ploy"))

    # A batch job holds the write lock past the busy timeout: 503, nothing written.
    job = sqlite3.connect(db, isolation_level=None)
    job.execute("BEGIN IMMEDIATE")
    small = {**coffee, "amount_minor": 20_00, "fee_minor": 30}
    busy = c.call("POST", "/payments", small, key="p-4")
    job.execute("ROLLBACK")
    job.close()
    _show("POST /payments key p-4 (lock held)", busy, f"Retry-After {busy.headers['Retry-After']}")
    assert busy.status == 503
    r = c.call("POST", "/payments", small, key="p-4")
    _show("POST /payments key p-4 (sent again)", r, _wallet_after(r, "wallet:ploy"))
    assert r.status == 201 and not r.replayed

    # The app sends a payment and dies before reading the answer; the key finds it.
    abandon(c.port, "POST", "/payments", {**coffee, "amount_minor": 10_00, "fee_minor": 15}, "p-5")
    found = settle(c, "payments", "p-5")
    _show("POST /payments key p-5 (answer never read)", found, _wallet_after(found, "wallet:ploy"))
    assert found.status == 201 and found.replayed
    _show("GET /payments/p-9 (never sent)", c.call("GET", "/payments/p-9"))
    _show(
        "POST /payments amount_minor 1.5",
        c.call("POST", "/payments", {**coffee, "amount_minor": 1.5}, key="p-6"),
    )

    balance = c.call("GET", "/wallets/ploy")
    print(
        f"\nGET /wallets/ploy: balance {balance.body['balance']['decimal']},"
        f" available {balance.body['available']['decimal']} {balance.body['currency']}"
    )
    page = c.call("GET", "/wallets/ploy/statement?limit=10").body
    print(f"GET /wallets/ploy/statement (read models at seq {page['as_of_seq']}):")
    for line in page["lines"]:
        print(
            f"  seq {line['seq']:>3}  {line['type']:<16} {line['command_id']:<10}"
            f" {line['change']['decimal']:>8} -> {line['balance']['decimal']:>8}"
        )
    assert page["lines"][-1]["balance"] == balance.body["balance"]


# --- serving, and the load driver ----------------------------------------------------------


def serve(db: Path, port: int, reads: Path, seconds: float) -> None:
    """Serve ``db`` on 127.0.0.1:``port`` until SIGTERM or SIGINT, or ``seconds`` pass."""
    with Ledger.open(db) as book, Runner(book, reads) as runner:
        book.open_chart()  # safe on every start, from every process: replays
        server = make_server(book, runner, port)

        def stop(signum: int = 0, frame: FrameType | None = None) -> None:
            threading.Thread(target=server.shutdown).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        timer = threading.Timer(seconds, stop)
        timer.start()
        print(f"serving on {HOST}:{server.server_port}", flush=True)
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            timer.cancel()
            server.server_close()


def start_server(db: Path, reads: Path, seconds: float) -> tuple[subprocess.Popen[str], int]:
    """A server process on ``db`` on a free port of 127.0.0.1: (the process, its port)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "--db",
            str(db),
            "--reads",
            str(reads),
            "--port",
            "0",
            "--seconds",
            str(seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline() if ready else ""
    found = re.fullmatch(r"serving on 127\.0\.0\.1:(\d+)\n", line)
    if found is None:
        stop_server(proc)
        raise RuntimeError(f"the server did not start: {line!r}")
    return proc, int(found.group(1))


def stop_server(proc: subprocess.Popen[str]) -> int:
    """SIGTERM, then wait for the server to answer its last requests and exit."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
    return code


@dataclass
class _Tally:
    """What the load clients saw, merged under a lock."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    per_server: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    abandoned: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


LOAD_WALLETS = 64
LOAD_MERCHANTS = 4
LOAD_REQUESTS_MAX = 1_000_000
"""Requests one client thread sends at most, whatever ``--seconds`` says."""


def load(processes: int, threads: int, seconds: float) -> None:
    """Servers on one ledger file, client threads spread over them; print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        db, reads = Path(tmp) / "wallet.db", Path(tmp) / "reads.db"
        with Ledger.open(db) as book:
            book.open_chart()
            chart = book.chart
            setup: list[Command] = [chart.open_merchant(f"m{i}") for i in range(LOAD_MERCHANTS)]
            for i in range(LOAD_WALLETS):
                setup.append(chart.open_wallet(f"wallet:w{i}"))
                setup.append(
                    TopUp(id=f"seed:{i}", wallet=f"wallet:w{i}", amount_minor=10**9, channel="bank")
                )
            assert all(isinstance(r, Accepted) for r in book.submit_many(setup))
        servers = [start_server(db, reads, seconds + 120) for _ in range(processes)]
        tally = _Tally()
        try:
            workers = [
                threading.Thread(
                    target=_client_loop,
                    args=(i, servers[i % processes][1], i % processes, seconds, tally),
                )
                for i in range(threads)
            ]
            started = time.monotonic()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            elapsed = time.monotonic() - started
        finally:
            codes = [stop_server(proc) for proc, _ in servers]
        with Ledger.open(db) as book:
            report = verify(book)
        _print_load(processes, threads, seconds, elapsed, tally)
        print(f"servers exited {codes}; audit: {'ok' if report.ok else report.findings}")


def _client_loop(n: int, port: int, server: int, seconds: float, tally: _Tally) -> None:
    """One client thread: a seeded mix of writes and reads until the time is up."""
    rng = random.Random(n)
    client = Client(port)
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    retries = abandoned = errors = 0
    last: tuple[str, dict[str, Any], str] | None = None
    try:
        for i in range(LOAD_REQUESTS_MAX):
            if time.monotonic() >= deadline:
                break
            wallet = f"w{rng.randrange(LOAD_WALLETS)}"
            roll = rng.random()
            key = f"c{n}-{i}"
            kind: str | None = "payments"
            body: dict[str, Any] = {}
            if roll < 0.50:
                amount = rng.randrange(1_00, 50_00)
                body = {
                    "wallet": wallet,
                    "merchant": f"m{rng.randrange(LOAD_MERCHANTS)}",
                    "amount_minor": amount,
                    "fee_minor": amount * 15 // 1000,
                }
            elif roll < 0.70:
                to = (int(wallet[1:]) + rng.randrange(1, LOAD_WALLETS)) % LOAD_WALLETS
                body = {
                    "wallet": wallet,
                    "to": f"w{to}",
                    "amount_minor": rng.randrange(1_00, 20_00),
                }
                kind = "transfers"
            elif roll < 0.80:
                body = {
                    "wallet": wallet,
                    "amount_minor": rng.randrange(10_00, 500_00),
                    "channel": "promptpay",
                }
                kind = "topups"
            elif roll < 0.90:
                kind = None  # a balance read
            elif roll < 0.95 and last is not None:
                kind, body, key = last  # a retry: the same key and body
            elif roll < 0.97:
                body = {"wallet": wallet, "merchant": "m0", "amount_minor": 10**12}  # overdraws
            else:
                kind, body = "payments", {"wallet": wallet, "merchant": "m1", "amount_minor": 1_00}
                abandon(port, "POST", "/payments", body, key)
                abandoned += 1
                continue
            started = time.perf_counter()
            try:
                for _attempt in range(5):  # 503: the same key again, after a pause
                    if kind is None:
                        reply = client.call("GET", f"/wallets/{wallet}")
                    else:
                        reply = client.call("POST", f"/{kind}", body, key=key)
                    if reply.status != 503:
                        break
                    retries += 1
                    time.sleep(0.05)
            except (OSError, http.client.HTTPException):
                errors += 1
                client.close()
                client = Client(port)
                continue
            latencies.append(time.perf_counter() - started)
            statuses[reply.status] += 1
            if kind is not None:
                last = (kind, body, key)
    finally:
        client.close()
    with tally.lock:
        tally.latencies += latencies
        tally.statuses.update(statuses)
        tally.per_server[server] += len(latencies)
        tally.retries += retries
        tally.abandoned += abandoned
        tally.errors += errors


def _print_load(processes: int, threads: int, seconds: float, elapsed: float, t: _Tally) -> None:
    lat = sorted(t.latencies)
    n = len(lat)

    def pct(p: float) -> float:
        return lat[min(n - 1, int(p * n))] * 1000 if n else 0.0

    print(f"load: {processes} server process(es), {threads} client threads, {seconds:g} s")
    print(
        f"requests answered: {n:,} ({n / elapsed:,.0f}/s); latency p50 {pct(0.50):.1f} ms,"
        f" p99 {pct(0.99):.1f} ms"
    )
    print("statuses: " + ", ".join(f"{s} x{c:,}" for s, c in sorted(t.statuses.items())))
    print("per server: " + ", ".join(f"#{i + 1} {c:,}" for i, c in sorted(t.per_server.items())))
    print(f"503 retries: {t.retries:,}; abandoned: {t.abandoned:,}; client errors: {t.errors:,}")


def main(argv: list[str] | None = None) -> None:
    """The story with no arguments; ``--serve`` or ``--load`` otherwise."""
    parser = argparse.ArgumentParser(description="A wallet HTTP service on Satang.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--serve", action="store_true", help="just serve --db on --port")
    mode.add_argument("--load", action="store_true", help="run the load driver")
    parser.add_argument("--db", type=Path, help="the ledger file (--serve)")
    parser.add_argument("--reads", type=Path, help="the read models' file (default: DB.reads)")
    parser.add_argument("--port", type=int, default=8080, help="0: any free port")
    parser.add_argument("--processes", type=int, choices=(1, 2), default=1)
    parser.add_argument("--threads", type=int, choices=range(1, 65), default=8, metavar="1..64")
    parser.add_argument(
        "--seconds", type=float, default=None, help="load: how long; serve: stop after (3600)"
    )
    args = parser.parse_args(argv)
    if args.serve:
        if args.db is None:
            parser.error("--serve needs --db")
        if not 0 <= args.port <= 65535:
            parser.error("--port is 0..65535")
        seconds = 3600.0 if args.seconds is None else args.seconds
        reads = args.reads or args.db.with_name(args.db.name + ".reads")
        serve(args.db, args.port, reads, seconds)
    elif args.load:
        seconds = 10.0 if args.seconds is None else args.seconds
        if not 0 < seconds <= 600:
            parser.error("--seconds is in (0, 600] for a load run")
        load(args.processes, args.threads, seconds)
    else:
        story()


if __name__ == "__main__":
    main()
