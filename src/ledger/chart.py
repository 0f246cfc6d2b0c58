"""The chart of system accounts every wallet flow takes its account names from.

A flow never spells an account name itself: the safeguarded bank account, fee income,
an agent's receivable, a merchant's payable are all looked up here, so a ledger whose
accounts are named otherwise passes its own :class:`Chart` to ``Ledger.open``. Party
accounts are templates with one ``{placeholder}``: ``Pay(merchant="M9")`` credits
``chart.merchant("M9")``, which is ``merchant:M9:payable`` by default.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ledger.accounts import is_valid_id
from ledger.commands import OpenAccount
from ledger.errors import InvalidCommand, shown


def _template(placeholder: str) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        whole = "{" + placeholder + "}"
        fields = _fields(value) if isinstance(value, str) else None
        if fields != [placeholder] or not (
            isinstance(value, str) and value.count("{") == value.count("}") == 1 and whole in value
        ):
            raise InvalidCommand(
                f"Chart.{attribute.name} must be a str holding {{{placeholder}}} once and no "
                f"other field or brace, got {shown(value)}"
            )

    return check


def _fields(template: str) -> list[str | None] | None:
    """The replacement fields of a ``str.format`` template, None if it does not parse."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError:
        return None


def party_of(template: str, placeholder: str, account_id: str) -> str | None:
    """The party whose account ``account_id`` is under ``template``, or None."""
    prefix, suffix = template.split("{" + placeholder + "}")
    if not (account_id.startswith(prefix) and account_id.endswith(suffix)):
        return None
    party = account_id[len(prefix) : len(account_id) - len(suffix)]
    return party if is_valid_id(party) else None


def _name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidCommand(f"Chart.{attribute.name} must be an account id, got {shown(value)}")


def _as_tuple(value: Iterable[str]) -> tuple[str, ...]:
    """A list given for a tuple of names, as a tuple (a chart is hashable: its answers are
    kept); anything else as it is, for the validator to refuse."""
    if isinstance(value, list):
        return tuple(value)
    return value  # type: ignore[return-value]


def _pattern(entry: str) -> tuple[str, str] | None:
    """``(prefix, suffix)`` of a pattern holding one ``{placeholder}``, None for a plain
    account id; InvalidCommand for anything else."""
    fields = _fields(entry)
    if fields == [] and is_valid_id(entry):
        return None
    name = fields[0] if fields is not None and len(fields) == 1 else None
    whole = "{" + str(name) + "}"
    if (
        name is None
        or not name.isidentifier()
        or not entry.count("{") == entry.count("}") == 1
        or whole not in entry
    ):
        raise InvalidCommand(
            "Chart.cash_in_transit holds account ids, or patterns with one {placeholder} in"
            f" place of a party id (acquirer:{{acquirer}}:settlement), not {shown(entry)}"
        )
    prefix, suffix = entry.split(whole)
    if not is_valid_id(prefix + "X" + suffix):
        raise InvalidCommand(
            f"Chart.cash_in_transit: {shown(entry)} names no valid account id (1..128"
            " characters of [A-Za-z0-9:_.-] around its placeholder)"
        )
    return prefix, suffix


def _matches(entry: str, account_id: str) -> bool:
    """True if ``account_id`` is the account id ``entry`` or one its pattern names."""
    found = _pattern(entry)
    if found is None:
        return account_id == entry
    prefix, suffix = found
    return (
        len(account_id) > len(prefix) + len(suffix)
        and account_id.startswith(prefix)
        and account_id.endswith(suffix)
        and is_valid_id(account_id[len(prefix) : len(account_id) - len(suffix)])
    )


def _in_transit_entries(instance: Chart, attribute: attrs.Attribute[Any], value: object) -> None:
    """``cash_in_transit`` is a tuple of distinct account ids or one-placeholder patterns,
    none naming the trust account (it would count twice), an FX position (the audit sets
    those against the wallets on their own) or a COD or loan account (not e-money cash)."""
    if not isinstance(value, tuple):
        raise InvalidCommand(
            "Chart.cash_in_transit is a tuple (or list) of account ids or patterns, not"
            f" {shown(value)}"
        )
    for i, entry in enumerate(value):
        if not isinstance(entry, str):
            raise InvalidCommand(
                f"Chart.cash_in_transit holds account ids or patterns (str), not {shown(entry)}"
            )
        found = _pattern(entry)
        if entry in value[:i]:
            raise InvalidCommand(f"Chart.cash_in_transit names {shown(entry)} twice")
        # a pattern is judged by an account it names, and by the system accounts it takes in
        named = entry if found is None else found[0] + "X" + found[1]
        system = (instance.bank_trust, *instance.loan_accounts(), instance.cod_bank)
        clash = next((s for s in system if _matches(entry, s)), None)
        if clash is None and (instance.fx_of(named) is not None or instance.cod_account(named)):
            clash = named
        if clash is not None:
            raise InvalidCommand(
                f"Chart.cash_in_transit: {shown(entry)} names {shown(clash)}, which is the trust"
                " account, an FX position or a COD or loan account, never cash in transit"
            )


@attrs.frozen(cache_hash=True)
class Chart:
    """Names of the system accounts, and templates for the accounts of each party."""

    currency: str = attrs.field(default="THB", validator=_name)
    """The currency of the system accounts (bank trust, fee income)."""
    bank_trust: str = attrs.field(default="bank:trust", validator=_name)
    """The safeguarded bank account (asset) backing every wallet: top-ups by bank, card
    and PromptPay land here, withdrawals leave from here."""
    fee_income: str = attrs.field(default="income:fees", validator=_name)
    """Fee income (income): merchant discount fees, top-up and withdrawal fees."""
    agent_receivable: str = attrs.field(
        default="agent:{agent}:receivable", validator=_template("agent")
    )
    """Cash an agent or shop counter collected and still owes (asset, no overdraft)."""
    merchant_payable: str = attrs.field(
        default="merchant:{merchant}:payable", validator=_template("merchant")
    )
    """What the platform owes a merchant for payments it received (liability)."""
    biller_payable: str = attrs.field(
        default="biller:{biller}:payable", validator=_template("biller")
    )
    """What the platform owes a biller (electricity, water, phone), settled in bulk."""
    fx_position: str = attrs.field(
        default="fx:{currency}:position", validator=_template("currency")
    )
    """The FX position in one currency (asset): every cross-currency leg goes through it."""
    cash_in_transit: tuple[str, ...] = attrs.field(
        default=(), converter=_as_tuple, validator=_in_transit_entries
    )
    """Asset accounts, beside the agents' receivables, whose balance is cash on its way to
    the trust account and so counts as safeguarded (:meth:`in_transit`): account ids
    (``acquirer:kbank:settlement``) or patterns with one ``{placeholder}`` where a party id
    goes (``acquirer:{acquirer}:settlement``), as the party templates have. Empty by
    default: only agents' receivables are in transit."""

    # --- cash on delivery (docs/flows/cod.md): the platform is an agent, only its fees
    # are revenue ----------------------------------------------------------------------
    cod_bank: str = attrs.field(default="bank:cod", validator=_name)
    """The bank account couriers remit COD cash into and merchant payouts and buyer refunds
    leave from (asset, no overdraft). It is not the safeguarded ``bank_trust``: COD cash
    is the merchants', not e-money, until a payout or refund into a wallet moves it over."""
    commission_income: str = attrs.field(default="income:commission", validator=_name)
    """The platform's COD commission, net of VAT (income)."""
    vat_output: str = attrs.field(default="liability:vat_output", validator=_name)
    """VAT collected inside commissions and fees, owed to the revenue department."""
    cod_fee_expense: str = attrs.field(default="expense:cod_fee", validator=_name)
    """What couriers charge for collecting cash (expense)."""
    refunds_payable: str = attrs.field(default="liability:refunds_payable", validator=_name)
    """Refunds of returned orders owed to buyers until paid (liability)."""
    rto_fee_income: str = attrs.field(default="income:rto_fees", validator=_name)
    """Return-to-origin fees charged to merchants for failed deliveries, net of VAT."""
    cod_loss_expense: str = attrs.field(default="expense:cod_losses", validator=_name)
    """Courier shortfalls written off (expense)."""
    courier_cod_receivable: str = attrs.field(
        default="courier:{courier}:cod_receivable", validator=_template("courier")
    )
    """Cash a courier collected at the door and has not remitted (asset, no overdraft)."""
    courier_shipping_payable: str = attrs.field(
        default="courier:{courier}:shipping_payable", validator=_template("courier")
    )
    """Shipping owed to a courier; it keeps it out of the cash when it remits."""
    courier_dispute_receivable: str = attrs.field(
        default="courier:{courier}:dispute_receivable", validator=_template("courier")
    )
    """What a courier remitted short, until recovered or written off (asset)."""
    merchant_pending_payable: str = attrs.field(
        default="merchant:{merchant}:payable_pending", validator=_template("merchant")
    )
    """A merchant's COD money inside the return window (liability)."""
    merchant_available_payable: str = attrs.field(
        default="merchant:{merchant}:payable_available", validator=_template("merchant")
    )
    """A merchant's COD money past the return window, to be paid out (liability)."""
    merchant_receivable: str = attrs.field(
        default="merchant:{merchant}:receivable", validator=_template("merchant")
    )
    """What a merchant owes the platform (returns after payout, return-to-origin fees),
    recovered from its next payout (asset, no overdraft)."""
    merchant_wallet: str = attrs.field(
        default="merchant:{merchant}:wallet", validator=_template("merchant")
    )
    """A merchant's wallet (e-money), where ``PayoutMerchant(to="wallet")`` pays."""

    # --- micro-loans (docs/flows/loans.md): pooled accounts, each loan's share of them
    # is in its stream ------------------------------------------------------------------
    loan_bank: str = attrs.field(default="bank:lending", validator=_name)
    """The lender's own bank account (asset, no overdraft): loans are funded from it and
    repayments return to it. Not the safeguarded ``bank_trust``: a disbursement into a
    wallet moves its cash into the trust, a repayment from a wallet moves it back."""
    loan_principal: str = attrs.field(default="loans:principal", validator=_name)
    """Principal lent and not yet repaid or written off (asset, no overdraft)."""
    loan_interest_receivable: str = attrs.field(
        default="loans:interest_receivable", validator=_name
    )
    """Interest recognised and not yet paid (asset, no overdraft)."""
    loan_default_receivable: str = attrs.field(
        default="loans:default_interest_receivable", validator=_name
    )
    """Default interest on overdue principal, recognised and not yet paid (asset)."""
    loan_allowance: str = attrs.field(default="loans:allowance", validator=_name)
    """The expected-loss allowance: a contra-asset, its balance on the credit side."""
    loan_interest_income: str = attrs.field(default="income:loan_interest", validator=_name)
    loan_default_income: str = attrs.field(default="income:loan_default_interest", validator=_name)
    loan_deferred_fees: str = attrs.field(default="liability:deferred_loan_fees", validator=_name)
    """Upfront fees taken and not yet earned (liability, no overdraft)."""
    loan_fee_income: str = attrs.field(default="income:loan_fees", validator=_name)
    ecl_expense: str = attrs.field(default="expense:expected_credit_loss", validator=_name)
    """Expected-credit-loss expense: allowance topped up (debit) or released (credit)."""
    loan_recoveries: str = attrs.field(default="income:loan_recoveries", validator=_name)
    """What is recovered on loans already written off (income)."""

    def agent(self, agent: str) -> str:
        return self.agent_receivable.format(agent=agent)

    def merchant(self, merchant: str) -> str:
        return self.merchant_payable.format(merchant=merchant)

    def biller(self, biller: str) -> str:
        return self.biller_payable.format(biller=biller)

    def fx(self, currency: str) -> str:
        return self.fx_position.format(currency=currency)

    def cod_receivable(self, courier: str) -> str:
        return self.courier_cod_receivable.format(courier=courier)

    def shipping_payable(self, courier: str) -> str:
        return self.courier_shipping_payable.format(courier=courier)

    def dispute_receivable(self, courier: str) -> str:
        return self.courier_dispute_receivable.format(courier=courier)

    def pending_payable(self, merchant: str) -> str:
        return self.merchant_pending_payable.format(merchant=merchant)

    def available_payable(self, merchant: str) -> str:
        return self.merchant_available_payable.format(merchant=merchant)

    def owed_by(self, merchant: str) -> str:
        """The merchant's receivable: what it owes the platform."""
        return self.merchant_receivable.format(merchant=merchant)

    def wallet_of(self, merchant: str) -> str:
        return self.merchant_wallet.format(merchant=merchant)

    def cod_account(self, account_id: str) -> bool:
        """True if ``account_id`` is one of the COD flows' own accounts: the COD bank and
        the COD system accounts, a courier's or a COD merchant's payables and receivable
        (not its wallet, which is a wallet like any other). Other flows neither fund from
        nor pay into these, so their balances stay what the orders made them."""
        system = (
            self.cod_bank,
            self.commission_income,
            self.vat_output,
            self.cod_fee_expense,
            self.refunds_payable,
            self.rto_fee_income,
            self.cod_loss_expense,
        )
        couriers = (
            self.courier_cod_receivable,
            self.courier_shipping_payable,
            self.courier_dispute_receivable,
        )
        merchants = (
            self.merchant_pending_payable,
            self.merchant_available_payable,
            self.merchant_receivable,
        )
        return (
            account_id in system
            or any(party_of(t, "courier", account_id) is not None for t in couriers)
            or any(party_of(t, "merchant", account_id) is not None for t in merchants)
        )

    def loan_accounts(self) -> tuple[str, ...]:
        """The loan flows' system accounts, the lender's bank first."""
        return (
            self.loan_bank,
            self.loan_principal,
            self.loan_interest_receivable,
            self.loan_default_receivable,
            self.loan_allowance,
            self.loan_interest_income,
            self.loan_default_income,
            self.loan_deferred_fees,
            self.loan_fee_income,
            self.ecl_expense,
            self.loan_recoveries,
        )

    def flow_account(self, account_id: str) -> bool:
        """True if ``account_id`` belongs to the COD or the loan flows (:meth:`cod_account`,
        :meth:`loan_accounts`): no other flow funds from or pays into it. A pure function
        of the chart and the id, so its answers are kept (every payment asks it)."""
        return _flow_account(self, account_id)

    def agent_of(self, account_id: str) -> str | None:
        """The agent whose receivable ``account_id`` is, None if it is no agent's."""
        return party_of(self.agent_receivable, "agent", account_id)

    def fx_of(self, account_id: str) -> str | None:
        """The currency whose FX position ``account_id`` is, None if it is none."""
        return party_of(self.fx_position, "currency", account_id)

    def in_transit(self, account_id: str, account_type: str, currency: str) -> bool:
        """True if the account ``account_id``, of ``account_type`` in ``currency``, is cash
        in transit to the trust account, which counts as safeguarded: an asset in the
        chart's currency that is an agent's receivable or an account ``cash_in_transit``
        declares, and neither the trust account, an FX position nor a COD or loan account
        (whatever a pattern matches). The one rule the safeguarding report and the audit's
        ``safeguarded`` check both apply."""
        return (
            account_type == "asset"
            and currency == self.currency
            and _in_transit_id(self, account_id)
        )

    # --- the commands that open the chart's accounts ----------------------------------

    def system_accounts(
        self, fx_currencies: Iterable[str] = (), *, cod: bool = False, loans: bool = False
    ) -> list[OpenAccount]:
        """The bank trust and fee income accounts, an FX position for the chart's
        currency and each of ``fx_currencies``, with ``cod`` the cash-on-delivery system
        accounts and with ``loans`` the micro-loan ones. Ids are ``open:<account>``, so
        opening the chart twice is an idempotent retry."""
        commands = [
            _open(self.bank_trust, "asset", self.currency, no_overdraft=True),
            _open(self.fee_income, "income", self.currency),
        ]
        if fx_currencies := list(dict.fromkeys(fx_currencies)):
            commands += [
                _open(self.fx(code), "asset", code)
                for code in dict.fromkeys([self.currency, *fx_currencies])
            ]
        if cod:
            commands += [
                _open(self.cod_bank, "asset", self.currency, no_overdraft=True),
                _open(self.commission_income, "income", self.currency),
                _open(self.vat_output, "liability", self.currency),
                _open(self.cod_fee_expense, "expense", self.currency),
                _open(self.refunds_payable, "liability", self.currency),
                _open(self.rto_fee_income, "income", self.currency),
                _open(self.cod_loss_expense, "expense", self.currency),
            ]
        if loans:
            commands += [
                _open(self.loan_bank, "asset", self.currency, no_overdraft=True),
                _open(self.loan_principal, "asset", self.currency, no_overdraft=True),
                _open(self.loan_interest_receivable, "asset", self.currency, no_overdraft=True),
                _open(self.loan_default_receivable, "asset", self.currency, no_overdraft=True),
                _open(self.loan_allowance, "asset", self.currency),
                _open(self.loan_interest_income, "income", self.currency),
                _open(self.loan_default_income, "income", self.currency),
                _open(self.loan_deferred_fees, "liability", self.currency, no_overdraft=True),
                _open(self.loan_fee_income, "income", self.currency),
                _open(self.ecl_expense, "expense", self.currency),
                _open(self.loan_recoveries, "income", self.currency),
            ]
        return commands

    def open_courier(self, courier: str) -> list[OpenAccount]:
        """A courier's COD receivable, shipping payable and dispute receivable. The two
        receivables (assets) cannot go below zero: a remittance or a resolution clears at
        most what the courier owes."""
        return [
            _open(self.cod_receivable(courier), "asset", self.currency, no_overdraft=True),
            _open(self.shipping_payable(courier), "liability", self.currency),
            _open(self.dispute_receivable(courier), "asset", self.currency, no_overdraft=True),
        ]

    def open_cod_merchant(self, merchant: str) -> list[OpenAccount]:
        """A COD merchant's pending and available payables, its receivable (what it owes,
        which cannot go below zero) and its wallet (``wallet_type`` merchant). The payables
        are liabilities without ``no_overdraft``, so no wallet flow takes them for a
        wallet; the COD flows never take more from them than the orders put in, and money
        a return takes back after payout is owed through the receivable instead."""
        return [
            _open(self.pending_payable(merchant), "liability", self.currency),
            _open(self.available_payable(merchant), "liability", self.currency),
            _open(self.owed_by(merchant), "asset", self.currency, no_overdraft=True),
            self.open_wallet(self.wallet_of(merchant), wallet_type="merchant"),
        ]

    def open_agent(self, agent: str) -> OpenAccount:
        """An agent's receivable: it cannot go below zero (an agent settles what it owes)."""
        return _open(self.agent(agent), "asset", self.currency, no_overdraft=True)

    def open_merchant(self, merchant: str, currency: str | None = None) -> OpenAccount:
        """A merchant's payable. It may go below zero: after a refund of money already
        paid out, the merchant owes the platform."""
        return _open(self.merchant(merchant), "liability", currency or self.currency)

    def open_biller(self, biller: str) -> OpenAccount:
        return _open(self.biller(biller), "liability", self.currency)

    def open_wallet(
        self,
        account: str,
        currency: str | None = None,
        wallet_type: str = "consumer",
        *,
        subject: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> OpenAccount:
        """A customer wallet: a liability that never goes below zero, counting holds.
        ``wallet_type`` (consumer, merchant, agent) is kept in its metadata for reports
        (a structural key); ``subject`` names the customer it belongs to, and the rest of
        ``metadata`` is that customer's personal data (docs/personal-data.md)."""
        return _open(
            account,
            "liability",
            currency or self.currency,
            no_overdraft=True,
            metadata={**(metadata or {}), "wallet_type": wallet_type},
            subject=subject,
        )


def _open(account: str, type_: str, currency: str, **kwargs: Any) -> OpenAccount:
    return OpenAccount(
        id=f"open:{account}", account=account, type=type_, currency=currency, **kwargs
    )


@functools.lru_cache(maxsize=1 << 16)
def _flow_account(chart: Chart, account_id: str) -> bool:
    return chart.cod_account(account_id) or account_id in chart.loan_accounts()


@functools.lru_cache(maxsize=1 << 16)
def _in_transit_id(chart: Chart, account_id: str) -> bool:
    """:meth:`Chart.in_transit` on the id alone: a pure function of the chart and the id,
    so its answers are kept (every audit and report asks it of every account)."""
    if (
        account_id == chart.bank_trust
        or chart.fx_of(account_id) is not None
        or chart.flow_account(account_id)
    ):
        return False
    return chart.agent_of(account_id) is not None or any(
        _matches(entry, account_id) for entry in chart.cash_in_transit
    )
