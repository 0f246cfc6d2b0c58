"""What the plain models of the stateful machines share: how a model's decide step says
"the ledger must refuse this command, with this code".

A model works a command out rule by rule; the first rule that fails calls :func:`refuse`
or :func:`refuse_if`, which raise :class:`Refused` carrying the expected
:class:`~ledger.errors.RejectCode`. The model's entry point catches it, puts back
whatever it had changed, and answers with the code.
"""

from __future__ import annotations

from typing import NoReturn

from ledger.errors import RejectCode


class Refused(Exception):
    """A model's verdict that the ledger must reject the command with :attr:`code`."""

    def __init__(self, code: RejectCode) -> None:
        super().__init__(code)
        self.code = code


def refuse(code: RejectCode) -> NoReturn:
    """Stop the model's decision: the ledger must reject the command with ``code``."""
    raise Refused(code)


def refuse_if(condition: bool, code: RejectCode) -> None:
    """Stop the model's decision with ``code`` when ``condition`` holds."""
    if condition:
        raise Refused(code)
