"""Every verb of ``satang`` fails cleanly: bad arguments of every kind are a usage error or
a one-line message, output to a full device is a one-line message and a non-zero exit, a
closed pipe ends quietly, and no traceback is ever printed.

The verbs are read from the click group, so a new verb is covered by these tests the day
it is added (with arguments derived from its parameters, until it gets a row in BASE).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ledger import Ledger, MasterKey
from ledger.cli import MESSAGE_MAX, main
from ledger.store.postgres import is_dsn
from tests.golden import wallet_day

VERBS = sorted(main.commands)
DAY = "2026-03-02"
SECRET = "hunter2-secret"
NOWHERE = f"postgresql://satang:{SECRET}@127.0.0.1:1/ledger"
"""A DSN whose server refuses at once (port 1), with a password that must never show."""
SMALL_DEMO = [
    "--customers", "40", "--merchants", "1", "--agents", "3", "--couriers", "1",
    "--cod-orders", "10", "--loans", "10",
]  # fmt: skip
NOT_ON_A_FULL_DEVICE = {"bench": "it runs for minutes whatever its arguments"}
"""The verbs the /dev/full test leaves out, and why (bench gets bad arguments below)."""


def _subjects_key(path: Path) -> MasterKey:
    key = MasterKey.generate()
    path.write_text(key.hex() + "\n")
    return key


class Files:
    """The files the verbs are given: a ledger, a new path each time, junk of each kind."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ledger = root / "wallet.db"
        wallet_day.build(self.ledger)
        self.junk = root / "junk.db"
        self.junk.write_bytes(b"definitely not a ledger\n" * 200)
        self.empty = root / "empty.db"
        self.empty.write_bytes(b"")
        self.folder = root / "a-folder"
        self.folder.mkdir()
        self.key = root / "master.key"
        self.subjects = root / "subjects.db"
        with Ledger.open(self.subjects, master_key=_subjects_key(self.key)) as book:
            book.open_chart()
            book.submit(book.chart.open_wallet("wallet:C1", subject="C1", metadata={"n": "x"}))
        self.subjects_csv = root / "subjects.csv"
        self.subjects_csv.write_text("wallet:ploy,P1\n")
        self._n = 0

    def new(self) -> str:
        self._n += 1
        return str(self.root / f"new-{self._n}.db")

    @property
    def missing(self) -> str:
        return str(self.root / "no-such-dir" / "missing.db")


@pytest.fixture(autouse=True)
def in_a_scratch_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad value given as a path to write (``--out``, ``--db``) lands here, not in the
    repository."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(tmp_path_factory.mktemp("hygiene"))


Args = dict[str, "str | bool"]


def base(verb: str, f: Files) -> Args:
    """Parameter name -> value with which ``verb`` runs (and writes to stdout)."""
    db = str(f.ledger)
    demo = dict(zip(SMALL_DEMO[::2], SMALL_DEMO[1::2], strict=True))
    known: dict[str, Args] = {
        "balance": {"db": db, "account": "wallet:ploy"},
        "bench": {"quick": True, "suite": "wallet", "directory": f.new()},
        "demo": {"db": f.new(), **{k[2:].replace("-", "_"): v for k, v in demo.items()}},
        "events": {"db": db},
        "export": {"db": db, "fmt": "beancount"},
        "head": {"db": db},
        "migrate": {"source": db, "target": NOWHERE},
        "replay": {"db": db, "until": "20", "out": f.new()},
        "report": {"name": "activity", "db": db, "day": DAY, "reads": ":memory:"},
        "result": {"command_id": "t1", "db": db},
        "statement": {"db": db, "account": "wallet:ploy", "reads": ":memory:"},
        "seal": {
            "source": db,
            "target": f.new(),
            "subjects_file": str(f.subjects_csv),
            "master_key_file": str(f.key),
        },
        "subject": {
            "action": "export",
            "subject_id": "C1",
            "db": str(f.subjects),
            "master_key_file": str(f.key),
        },
        "timezone": {"db": db},
        "verify": {"db": db},
    }
    if verb in known:
        return known[verb]
    return {  # a verb added since: what it requires, derived from its parameters
        p.name: _good_value(p, f) for p in main.commands[verb].params if p.required and p.name
    }


def argv(verb: str, args: Args) -> list[str]:
    """The command line of ``verb`` with ``args``, arguments in their places."""
    line = [verb]
    for param in main.commands[verb].params:
        value = args.get(param.name or "")
        if value is None or value is False:
            continue
        if isinstance(param, click.Argument):
            line.append(str(value))
        elif value is True:
            line.append(param.opts[0])
        else:
            line += [param.opts[0], str(value)]
    return line


def _good_value(param: click.Parameter, f: Files) -> str:
    if isinstance(param.type, click.Choice):
        return str(param.type.choices[0])
    if param.type.name in ("FILE|DSN", "FILE"):
        return str(f.ledger)
    if _is_number(param):
        return str(getattr(param.type, "min", None) or 1)
    return "1"


def _is_path(param: click.Parameter) -> bool:
    return param.type.name in ("FILE|DSN", "DSN", "FILE", "DIR")


def bad_values(param: click.Parameter, f: Files) -> list[tuple[str, bool]]:
    """(value, must it fail?) for one parameter: garbage of every kind for its type."""
    strict = _is_path(param) or _is_number(param) or _is_choice(param)
    values: list[tuple[str, bool]] = [
        ("x" * 1_000_000, _is_number(param) or _is_choice(param)),  # a megabyte
        ("nul\x00byte", strict),
        ("line\nbreak\u202e\x1b[31m", _is_number(param) or _is_choice(param)),
        ("", strict),
    ]
    if _is_number(param):
        bounded = getattr(param.type, "max", None) is not None
        values += [("9" * 40, bounded), ("-" + "9" * 40, True), ("1e3", True), ("0x10", True)]
    if _is_choice(param):
        values.append(("nope", True))
    if param.type.name in ("FILE|DSN", "DSN"):  # a ledger: a file or a DSN
        values += [
            (f.missing, True),
            (str(f.folder), True),
            (str(f.junk), True),
            (str(f.empty), True),
            ("host=db1 password=se cret", True),  # a keyword DSN libpq would refuse
            (NOWHERE, True),
            (f"host=127.0.0.1 port=1 user=satang password='{SECRET} x'", True),
        ]
    elif param.type.name == "FILE":  # to read (not a ledger) or to write (it exists)
        values += [(f.missing, True), (str(f.folder), True), (str(f.junk), True)]
    elif param.type.name == "DIR":
        values.append((str(f.junk), True))
    if param.type.name == "ZONE":
        values += [("Mars/Olympus", True), ("../../etc/passwd", True), ("/etc/localtime", True)]
    if param.name in ("day", "start", "end"):
        values += [("2026-13-01", True), ("0000-01-01", True)]
    if param.name in ("as_of", "until", "anchor", "after") and not _is_number(param):
        values += [("9" * 40, True), ("1:2", True), ("2026-03-02T25:00", True)]
        values += [(f"0:{'9' * 20}:1", True), ("-1:-1:-1", param.name != "after")]
    return values


def _is_number(param: click.Parameter) -> bool:
    return isinstance(param.type, click.types.IntParamType)


def _is_choice(param: click.Parameter) -> bool:
    return isinstance(param.type, click.Choice)


def check(result: click.testing.Result, must_fail: bool, what: str) -> None:
    """Nothing escaped, no traceback, no password; a failure is one short line."""
    err = result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        what,
        repr(result.exception),
    )
    assert "Traceback" not in result.output + err, what
    assert "(a bug in satang" not in err, (what, err)  # the last-resort handler caught one
    assert SECRET not in result.output + err, what
    assert result.exit_code in (0, 1, 2, 3), (what, result.exit_code)
    if must_fail:
        assert result.exit_code != 0, (what, result.stdout[:200])
    if result.exit_code != 0 and "FINDING" not in result.output:
        lines = err.strip().splitlines()
        assert len(lines) == 1, (what, err[:500])
        assert len(lines[0]) < 300, (what, lines[0][:400])
        assert lines[0].startswith("Error: "), (what, lines[0][:200])


@pytest.fixture
def no_bench_run(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """``satang bench`` records what it would run instead of running for minutes."""
    import ledger.bench

    calls: list[dict[str, object]] = []

    def run(echo: Callable[[str], None], **kwargs: object) -> None:
        calls.append(kwargs)
        echo("bench would run")

    monkeypatch.setattr(ledger.bench, "run", run)
    return calls


def test_every_verb_is_covered() -> None:
    assert {"balance", "head", "result", "timezone", "bench", "demo"} <= set(VERBS)


@pytest.mark.parametrize("verb", VERBS)
def test_the_base_arguments_run(verb: str, files: Files, no_bench_run: list[object]) -> None:
    """The arguments the other tests spoil are good ones: the verb runs with them."""
    result = CliRunner().invoke(main, argv(verb, base(verb, files)))
    if verb == "migrate":  # its target refuses connections: a one-line error, no password
        check(result, True, "migrate to a closed port")
        assert "cannot connect" in result.stderr and "satang:***@" in result.stderr
        return
    check(result, False, verb)
    assert result.exit_code == 0, (verb, result.output[-500:])
    assert result.stdout


@pytest.mark.parametrize("verb", VERBS)
def test_bad_arguments_are_one_line_never_a_traceback(
    verb: str, files: Files, no_bench_run: list[object]
) -> None:
    command = main.commands[verb]
    tried = 0
    for param in command.params:
        if isinstance(param, click.Option) and (param.is_flag or param.name == "help"):
            continue
        for value, must_fail in bad_values(param, files):
            args = {**base(verb, files), param.name or "": value}
            result = CliRunner().invoke(main, argv(verb, args))
            check(result, must_fail, f"satang {verb} {param.name}={value[:40]!r}")
            tried += 1
    assert tried >= 4 or not command.params
    assert not no_bench_run or verb == "bench"


@pytest.mark.parametrize("verb", VERBS)
def test_missing_and_unknown_options_are_usage_errors(verb: str, files: Files) -> None:
    result = CliRunner().invoke(main, [*argv(verb, base(verb, files)), "--no-such-option"])
    check(result, True, verb)
    assert result.exit_code == 2
    required = [p for p in main.commands[verb].params if p.required]
    if required:
        result = CliRunner().invoke(main, [verb])
        check(result, True, verb)
        assert result.exit_code == 2


def _satang(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger.cli", *args],
        capture_output=kwargs.pop("capture", True),  # type: ignore[arg-type]
        text=True,
        timeout=300,
        **kwargs,  # type: ignore[call-overload]
    )


@pytest.mark.parametrize("verb", [v for v in VERBS if v not in NOT_ON_A_FULL_DEVICE])
def test_a_full_device_is_one_line_and_a_failure(
    verb: str, files: Files, request: pytest.FixtureRequest
) -> None:
    args = base(verb, files)
    if verb == "migrate":  # it prints only once it has copied: a real server
        args["target"] = request.getfixturevalue("pg_dsn")
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "ledger.cli", *argv(verb, args)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    assert done.returncode != 0, verb
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    # demo draws a progress bar on stderr before its output fills the device
    last = lines[-1]
    assert last == "Error: cannot write the output: No space left on device", done.stderr
    assert verb == "demo" or len(lines) == 1, done.stderr


def test_a_closed_stdout_is_one_line_and_a_failure(files: Files) -> None:
    closed = ["sh", "-c", 'exec "$0" "$@" >&-']  # the verb starts with fd 1 closed
    done = subprocess.run(
        [*closed, sys.executable, "-m", "ledger.cli", "head", "--db", str(files.ledger)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr == "Error: cannot write the output: stdout is closed\n"


def test_only_bench_is_left_off_the_full_device() -> None:
    assert set(NOT_ON_A_FULL_DEVICE) == {"bench"}


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """``satang events | head -1`` on a log longer than a pipe holds."""
    db = tmp_path / "demo.db"
    made = _satang(["demo", "--db", str(db), *SMALL_DEMO])
    assert made.returncode == 0, made.stderr[-500:]
    with subprocess.Popen(
        [sys.executable, "-m", "ledger.cli", "events", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as reader:
        assert reader.stdout is not None and reader.stderr is not None
        first = reader.stdout.readline()
        reader.stdout.close()  # as `head -1` does, with most of the log still to come
        err = reader.stderr.read()
        code = reader.wait(timeout=60)
    assert first.startswith('{"seq":1,')
    assert err == "", err
    assert code == 1


def test_the_module_runs_as_a_script(files: Files) -> None:
    done = _satang(["head", "--db", str(files.ledger)])
    assert done.returncode == 0 and done.stdout.startswith("47:")


def test_an_unexpected_error_is_one_line_and_says_it_is_a_bug(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.book import Ledger

    def broken(self: Ledger) -> tuple[int, str]:
        raise ZeroDivisionError("boom\nsecond line")

    monkeypatch.setattr(Ledger, "head", broken)
    result = CliRunner().invoke(main, ["head", "--db", str(files.ledger)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    (line,) = result.stderr.strip().splitlines()
    assert "unexpected ZeroDivisionError: boom second line" in line
    assert "SATANG_TRACEBACK=1" in line
    monkeypatch.setenv("SATANG_TRACEBACK", "1")
    result = CliRunner().invoke(main, ["head", "--db", str(files.ledger)])
    assert isinstance(result.exception, ZeroDivisionError)


def test_messages_are_cut_and_flattened() -> None:
    from ledger.cli import one_line

    assert one_line("a\n\tb\x00c") == "a b\\x00c"
    cut = one_line("y" * 1_000_000)
    assert len(cut) == MESSAGE_MAX and cut.endswith("…")
    assert is_dsn(NOWHERE)
