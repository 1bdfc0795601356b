"""What the trader has entered for one account so far, its checks, and the AccountSettings it becomes.

Qt-free: the wizard's pages and the edit dialog copy their widgets into an AccountDraft, ask it what
is wrong (each problem keyed by the field it names) and, at the end, turn it into AccountSettings.
It never holds a password: those go straight to the keyring, and the draft keeps only their keys.
A cTrader account's application secret and token pair are the exception: they are needed before
the account is chosen (to list the accounts), so the draft holds them, out of its repr, until
Finish puts them in the keyring.
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from copier_gui import account_setup, ctrader_auth, secrets
from copier_gui.connectors.ctrader import TokenPair
from copier_gui.core.copier import DEFAULT_MAGIC
from copier_gui.core.model import AccountState
from copier_gui.core.rules import CopyRules, SizingMode
from copier_gui.settings import AccountSettings, NatsSettings, validation_problems

__all__ = [
    "CTRADER_PLATFORM",
    "LINK_PLATFORMS",
    "PLATFORMS",
    "SET_AS_MASTER_HINT",
    "SIZING_LABELS",
    "TEST_ID",
    "WORKER_HOST_PLATFORMS",
    "AccountDraft",
    "DraftInvalid",
    "Problems",
    "default_platform",
    "sizing_text",
]

# Each problem keyed by the draft field it is about ("login", "terminal_path", "multiplier" ...),
# so a form can show it beside that field; insertion order is the order the trader meets them.
Problems = dict[str, str]

PLATFORMS = (
    ("mt5", "MetaTrader 5 terminal",
     "A MetaTrader 5 (64-bit) terminal installed on this Windows computer."),
    ("mt5_bridge", "MetaTrader 5 through the Linux bridge",
     "A terminal running under Wine on this Linux computer, reached over a local bridge."),
    ("demo", "Demo broker",
     "A simulated broker: try copying with no broker account and no terminal."),
)
CTRADER_PLATFORM = ("ctrader", "cTrader account",
                    "An account at a cTrader broker, reached over cTrader's Open API: you sign in with your "
                    "cTrader ID in the browser and choose the account.")
# The wizard links cTrader accounts too; the edit dialog's platform list (PLATFORMS) does not offer
# to turn an MT5 account into one, since a cTrader account is chosen from what a sign-in lists.
LINK_PLATFORMS = (*PLATFORMS[:2], CTRADER_PLATFORM, PLATFORMS[2])
SIZING_LABELS = {
    SizingMode.LOT_MULTIPLIER: "Master's lots × multiplier",
    SizingMode.BALANCE_RATIO: "In proportion to balances × multiplier",
    SizingMode.FIXED_LOT: "A fixed number of lots",
}
# There is one master; the accounts menu changes which account it is, so a trader who wants a new
# account as master links it as a slave first.
SET_AS_MASTER_HINT = ('To make another account the master, link it as a slave, then choose "Set as '
                      'master" in the accounts menu.')
# The platforms whose terminal may run in a worker on another computer (`copier-gui worker-host`).
WORKER_HOST_PLATFORMS = ("mt5", "mt5_bridge")
# The id the connection test runs under; a new account's real id is chosen after the test.
TEST_ID = "link-test"


def default_platform() -> str:
    # A terminal needs Windows (or the bridge); elsewhere the demo is what works out of the box.
    return "mt5" if sys.platform == "win32" else "demo"


class DraftInvalid(Exception):
    """The draft cannot become AccountSettings yet; ``problems`` names each field that is wrong."""

    def __init__(self, problems: Problems) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = dict(problems)
        self.message = "; ".join(problems.values())


@dataclass
class AccountDraft:
    """One account as entered, field by field, as text where the trader types text.

    ``taken_ids`` and ``master_id`` describe the accounts already linked (without the one being
    edited); ``editing`` is True for an account that exists, whose id then stays as it is.
    """

    platform: str = field(default_factory=default_platform)
    terminal_path: str = ""
    bridge_host: str = "127.0.0.1"
    bridge_port: int = 18812
    # Which server answers at the bridge's address: our bridge, or an mt5linux server here or on
    # another computer (the terminal page's "Server" choice, or `accounts link --bridge-kind`).
    bridge_kind: str = "copier"
    demo_profile: str | None = None
    demo_login: int | None = None  # the login the demo broker issued for a new demo account
    login: str = ""
    server: str = ""
    role: str = "slave"
    account_id: str = ""
    label: str = ""
    sizing_mode: SizingMode = SizingMode.LOT_MULTIPLIER
    multiplier: float = 1.0
    lots: float = 0.01
    aliases: dict[str, str] = field(default_factory=dict)
    # Everything in a slave's rules the pages do not show (filters, risk ...), kept as it was.
    base_rules: CopyRules = field(default_factory=CopyRules)
    # Not typed, but learned on the way: the keyring entries in use and what the test read.
    secret_key: str | None = None
    bridge_secret_key: str | None = None
    account: AccountState | None = None
    slave_symbols: list[str] = field(default_factory=list)
    # Where the account's worker runs: "local", on this computer, or "nats", on a worker host
    # reached over a NATS server (as `accounts link --worker-host nats` says). The NATS user's
    # password is in the keyring under ``nats_password_key``, never here.
    worker_host: str = "local"
    nats_url: str = ""
    nats_user: str = ""
    nats_ca: str = ""
    nats_instance: str = "copier"
    # An edited account's NATS settings as saved: what the fields above do not show (a client
    # certificate, a JetStream domain, another password key) is kept from them.
    nats_base: NatsSettings | None = None
    # The linked accounts this one must fit beside.
    taken_ids: frozenset[str] = frozenset()
    master_id: str | None = None
    editing: bool = False
    # Kept from an edited account; a new one gets the defaults.
    copy_enabled: bool = True
    magic: int = DEFAULT_MAGIC
    # A cTrader account: the Open API application, what the trader's sign-in gave, the account
    # chosen from those it lists. The secret and the pair stay out of the repr; Finish stores them.
    ctrader_client_id: str = ""
    ctrader_secret: str = field(default="", repr=False)
    ctrader_tokens: TokenPair | None = field(default=None, repr=False)
    ctrader_accounts: list[ctrader_auth.LinkableAccount] = field(default_factory=list)
    ctrader_account: ctrader_auth.LinkableAccount | None = None
    ctrader_token_key: str | None = None
    # The accounts already linked, whose keyring entry for cTrader tokens a new one may share.
    linked: tuple[AccountSettings, ...] = field(default=(), repr=False)

    @classmethod
    def for_new_account(cls, linked: Collection[AccountSettings] = (), *, taken_ids: Collection[str] = (),
                        master_id: str | None = None) -> AccountDraft:
        """A blank draft for an account to link beside ``linked`` (and any other ids taken)."""
        master = next((a.id for a in linked if a.role == "master"), None)
        return cls(taken_ids=frozenset(taken_ids) | {a.id for a in linked}, master_id=master_id or master,
                   linked=tuple(linked))

    @classmethod
    def from_settings(cls, account: AccountSettings, linked: Collection[AccountSettings] = ()) -> AccountDraft:
        """The draft of an account that exists, to edit it; ``linked`` may include the account."""
        others = [a for a in linked if a.id != account.id]
        draft = cls(
            platform=account.platform, terminal_path=account.terminal_path or "",
            bridge_host=account.bridge_host, bridge_port=account.bridge_port,
            bridge_kind=account.bridge_kind, demo_profile=account.demo_profile,
            login="" if account.login is None else str(account.login), server=account.server or "",
            role=account.role, account_id=account.id, label=account.label,
            taken_ids=frozenset(a.id for a in others),
            master_id=next((a.id for a in others if a.role == "master"), None),
            editing=True, copy_enabled=account.copy_enabled, magic=account.magic,
            ctrader_client_id=account.ctrader_client_id or "", ctrader_token_key=account.ctrader_token_key,
            linked=tuple(others), worker_host=account.worker_host)
        if account.nats is not None:
            draft.nats_base = account.nats
            draft.nats_url, draft.nats_user = account.nats.url, account.nats.user or ""
            draft.nats_ca, draft.nats_instance = account.nats.ca or "", account.nats.instance
        if account.platform == "ctrader":
            draft.ctrader_account = ctrader_auth.LinkableAccount(
                account.ctrader_account_id or 0, account.login or 0, account.server or "",
                account.ctrader_host.startswith("live."), account.ctrader_host, account.ctrader_port)
        draft.keep_rules(account.rules if account.rules is not None else CopyRules())
        return draft

    def keep_rules(self, rules: CopyRules) -> None:
        """Take ``rules`` as they are (saved in the rules editor meanwhile): the draft's sizing and
        symbol corrections become theirs, so the account ends with exactly these rules."""
        self.base_rules = rules
        self.sizing_mode = rules.sizing.mode
        self.multiplier = rules.sizing.multiplier
        self.lots = rules.sizing.lots
        self.aliases = dict(rules.symbols.aliases)

    # ------------------------------------------------------------------ what the fields mean
    @property
    def demo(self) -> bool:
        return self.platform == "demo"

    @property
    def ctrader(self) -> bool:
        return self.platform == "ctrader"

    @property
    def ctrader_demo(self) -> bool:
        """A simulated cTrader broker: no terminal, no password, no connection test here."""
        return self.demo and account_setup.is_ctrader_demo(self.demo_profile)

    @property
    def remote(self) -> bool:
        """The account's terminal runs on a worker host reached over NATS, not on this computer."""
        return self.worker_host == "nats" and self.platform in WORKER_HOST_PLATFORMS

    @property
    def login_number(self) -> int | None:
        """The login as a number, or None while it is not a valid one."""
        return int(self.login.strip()) if not account_setup.login_problem(self.login) else None

    def password_key(self) -> str:
        """The keyring entry this account's password lives under (see ``secrets.password_key``)."""
        return secrets.password_key(login=self.login_number, server=self.server.strip() or None,
                                    account_id="" if not self.editing else self.account_id)

    # ------------------------------------------------------------------ the checks, step by step
    def terminal_problems(self, *, check_exists: bool = True) -> Problems:
        """The platform and where its terminal is: a path, the bridge's address, a demo broker."""
        problems: Problems = {}
        if self.platform not in {key for key, _title, _text in LINK_PLATFORMS}:
            problems["platform"] = f"{self.platform!r} is not a platform copier_gui links."
            return problems
        if self.ctrader:
            return self.ctrader_problems()
        if self.demo:
            problem = account_setup.demo_profile_problem(self.demo_profile)
            if problem:
                problems["demo_profile"] = problem
            return problems
        if self.remote:
            # The worker host's own settings say where its terminal is (and its bridge, if any).
            return self.nats_problems()
        problem = account_setup.terminal_path_problem(self.terminal_path.strip(), self.platform,
                                                      check_exists=check_exists)
        if problem:
            problems["terminal_path"] = problem
        if self.platform == "mt5_bridge":
            problem = account_setup.bridge_host_problem(self.bridge_host)
            if problem:
                problems["bridge_host"] = problem
            if not 1 <= self.bridge_port <= 65535:
                problems["bridge_port"] = f"{self.bridge_port} is not a port: use 1 to 65535."
            problem = account_setup.bridge_kind_problem(self.bridge_kind, self.bridge_host.strip())
            if problem:
                problems["bridge_kind"] = problem
        return problems

    def nats_settings(self) -> NatsSettings:
        """The account's ``nats`` settings, as `accounts link --nats ...` writes them; raises
        DraftInvalid with the transport's own message, keyed by the field it is about."""
        problems = self.nats_problems()
        if problems:
            raise DraftInvalid(problems)
        return NatsSettings.model_validate(self._nats_raw())

    def nats_problems(self) -> Problems:
        """The NATS server, user, CA and instance, checked by NatsSettings (and so by the transport)."""
        if not self.nats_url.strip():
            return {"nats_url": "Give the NATS server's URL, e.g. tls://hub.example:4222."}
        problems: Problems = {}
        raw = self._nats_raw()
        try:
            NatsSettings.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors():
                cause = (error.get("ctx") or {}).get("error")
                text = str(cause) if cause is not None else f"{error['msg']}"
                loc = [str(part) for part in error.get("loc", ())]
                problems.setdefault(_nats_field(loc[0] if loc else "", text), text)
        ca = self.nats_ca.strip()
        if ca and not Path(ca).is_file() and "nats_ca" not in problems:
            # Read by this computer's NATS client when it connects: a path that is not here fails then.
            problems["nats_ca"] = (f"The CA file {ca} does not exist: choose the PEM file of the NATS server's "
                                   "certificate authority.")
        return problems

    def _nats_raw(self) -> dict:
        raw = self.nats_base.model_dump(exclude_none=True) if self.nats_base is not None else {}
        raw.update(url=self.nats_url.strip(), instance=self.nats_instance.strip() or "copier")
        if self.nats_base is not None and self.nats_user.strip() != (self.nats_base.user or ""):
            raw.pop("password_key", None)  # another user's password is under the command line's key for it
        for name, value in (("user", self.nats_user.strip()), ("ca", self.nats_ca.strip())):
            if value:
                raw[name] = value
            else:
                raw.pop(name, None)
        return raw

    def nats_password_key(self) -> str | None:
        """The keyring entry of the NATS user's password: ``nats:USER``, as the command line keeps it."""
        if self.nats_base is not None and self.nats_base.password_key and self.nats_user.strip() == self.nats_base.user:
            return self.nats_base.password_key
        user = self.nats_user.strip()
        return f"nats:{user}" if user else None

    def ctrader_problems(self) -> Problems:
        """The application, the sign-in and the account chosen (the edit dialog keeps them as they are)."""
        problems: Problems = {}
        problem = ctrader_auth.client_id_problem(self.ctrader_client_id)
        if problem:
            problems["ctrader_client_id"] = problem
        if self.editing:
            return problems
        problem = ctrader_auth.client_secret_problem(self.ctrader_secret)
        if problem:
            problems["ctrader_secret"] = problem
        if self.ctrader_tokens is None:
            problems["ctrader_tokens"] = ("Sign in with cTrader in the browser, or paste tokens from the "
                                          "playground, to list your accounts.")
        elif self.ctrader_account is None:
            problems["ctrader_account"] = "Choose the account to link from the list."
        return problems

    def ctrader_key(self) -> str:
        """The keyring entry for the sign-in's token pair (shared with accounts of the same cTrader ID)."""
        if self.editing and self.ctrader_token_key:
            return self.ctrader_token_key
        granted = [a.account_id for a in self.ctrader_accounts] or (
            [self.ctrader_account.account_id] if self.ctrader_account else [])
        return ctrader_auth.token_key(self.ctrader_client_id.strip(), granted, self.linked)

    def login_problems(self) -> Problems:
        problems: Problems = {}
        if self.ctrader:
            return problems  # the login comes from the account chosen
        if self.remote and not self.editing:
            # The worker host serves the account by its id, so the test needs the id it was linked under there.
            problem = account_setup.account_id_problem(self.account_id.strip(), self.taken_ids)
            if problem:
                problems["account_id"] = problem
        for name, problem in (("login", account_setup.login_problem(self.login)),
                              ("server", account_setup.server_problem(self.server))):
            if problem:
                problems[name] = problem
        return problems

    def account_problems(self) -> Problems:
        """The id, the role and, for a slave, the sizing and symbol corrections."""
        problems: Problems = {}
        if not self.editing:
            problem = account_setup.account_id_problem(self.account_id.strip(), self.taken_ids)
            if problem:
                problems["account_id"] = problem
        if self.role not in ("master", "slave"):
            problems["role"] = f"{self.role!r} is not a role: an account is the master or a slave."
        else:
            # master_id is another account's: an edited master is not among the linked "others".
            problem = account_setup.master_problem(self.role, self.master_id)
            if problem:
                problems["role"] = f"{problem}. {SET_AS_MASTER_HINT}"
        if self.role == "slave":
            unknown = self.unknown_symbols()
            if unknown:
                problems["aliases"] = ("These slave symbols are not at this broker: "
                                       f"{', '.join(unknown)}. Choose one from the list.")
            problems.update(self._rules_problems())
        return problems

    def problems(self, *, check_exists: bool = True) -> Problems:
        """Everything wrong with the draft, each keyed by its field; empty when it is complete."""
        return {**self.terminal_problems(check_exists=check_exists), **self.login_problems(),
                **self.account_problems()}

    def unknown_symbols(self) -> list[str]:
        """Corrections naming a symbol the slave's broker does not have (once its symbols are known)."""
        if not self.slave_symbols:
            return []
        known = set(self.slave_symbols)
        return [f"{m} -> {s}" for m, s in self.aliases.items() if s not in known]

    # ------------------------------------------------------------------ the result
    def rules(self) -> CopyRules | None:
        """A slave's rules: the base rules with the sizing and symbol corrections entered; raises
        DraftInvalid naming the field. A master has none."""
        if self.role != "slave":
            return None
        raw = self._rules_raw()
        try:
            return CopyRules.model_validate(raw)
        except ValidationError as exc:
            raise DraftInvalid(_named(validation_problems(exc, raw))) from None

    def to_settings(self, *, check_exists: bool = True) -> AccountSettings:
        """The account as the settings file keeps it; raises DraftInvalid naming each field wrong."""
        problems = self.problems(check_exists=check_exists)
        if problems:
            raise DraftInvalid(problems)
        return self._settings(self.account_id.strip(), self.role, self.rules())

    def test_settings(self) -> AccountSettings:
        """The account as the connection test connects it: known before its id and role are."""
        problems = {**self.terminal_problems(check_exists=False), **self.login_problems()}
        if problems:
            raise DraftInvalid(problems)
        test_id = self.account_id.strip() if self.editing or self.remote else TEST_ID
        return self._settings(test_id, "slave", None)

    def summary(self, account: AccountSettings) -> str:
        """What the finish page shows: the account, in lines of plain text, never a secret."""
        platform = {key: title for key, title, _ in LINK_PLATFORMS}[account.platform]
        lines = [f"Account id: {account.id}", f"Role: {account.role}", f"Platform: {platform}"]
        if account.label:
            lines.append(f"Label: {account.label}")
        if account.platform == "ctrader":
            lines += self._ctrader_summary(account)
        elif account.platform == "demo":
            lines.append(f"Demo broker: {account_setup.demo_company(account.demo_profile)}")
        elif account.worker_host == "nats" and account.nats is not None:
            options = account.nats.options()
            lines.append(f"Terminal: on a worker host, over NATS {options.url} (instance {options.instance})")
            if options.user:
                lines.append(f"NATS user: {options.user}, its password kept in the system keyring")
        else:
            lines.append(f"Terminal: {account.terminal_path}")
        if account.platform == "mt5_bridge" and account.worker_host != "nats":
            server = "" if account.bridge_kind == "copier" else " (an mt5linux server)"
            lines.append(f"Bridge: {account.bridge_host}:{account.bridge_port}{server}")
        if account.platform != "ctrader":
            lines.append(f"Login: {account.login} at {account.server}")
        if self.account is not None:
            lines.append(f"Company: {self.account.company}; {self.account.currency}; "
                         f"{'hedging' if self.account.hedging else 'netting'}")
        if account.platform == "ctrader":
            lines.append("Application secret and cTrader tokens: kept in the system keyring")
        elif self.ctrader_demo:
            lines.append("Password: none (a simulated cTrader broker)")
        elif account.worker_host == "nats":
            lines.append("Password: kept in the worker host's own keyring")
        else:
            lines.append("Password: " + ("kept in the system keyring" if self.secret_key
                                         else "the one saved in the terminal"))
        if account.rules is not None:
            lines.append(f"Sizing: {sizing_text(account.rules)}")
            aliases = account.rules.symbols.aliases
            lines.append("Symbol corrections: " + (", ".join(f"{m} -> {s}" for m, s in aliases.items())
                                                   if aliases else "none (detected automatically)"))
        return "\n".join(lines)

    def _ctrader_summary(self, account: AccountSettings) -> list[str]:
        chosen = self.ctrader_account
        broker = (chosen.broker_name or chosen.broker) if chosen is not None else account.server
        kind = chosen.kind if chosen is not None else ""
        lines = [f"Login: {account.login} at {broker}" + (f" ({kind})" if kind else ""),
                 f"ctidTraderAccountId: {account.ctrader_account_id}",
                 f"Open API: {account.ctrader_host}:{account.ctrader_port}",
                 f"Application: {account.ctrader_client_id}"]
        if chosen is not None and chosen.account_type:
            lines.append(f"Positions: {chosen.account_type}")
        return lines

    # ------------------------------------------------------------------ inside
    def _rules_raw(self) -> dict:
        raw = self.base_rules.model_dump(mode="json")
        raw["sizing"] = {**raw["sizing"], "mode": str(self.sizing_mode), "multiplier": self.multiplier,
                         "lots": self.lots}
        raw["symbols"] = {**raw["symbols"], "aliases": dict(self.aliases)}
        return raw

    def _rules_problems(self) -> Problems:
        try:
            self.rules()
        except DraftInvalid as exc:
            return exc.problems
        return {}

    def _settings(self, account_id: str, role: str, rules: CopyRules | None) -> AccountSettings:
        demo = self.demo
        if self.ctrader:
            if self.ctrader_account is None:
                raise DraftInvalid({"ctrader_account": "Choose the account to link from the list."})
            fields = account_setup.ctrader_fields(self.ctrader_account, client_id=self.ctrader_client_id.strip(),
                                                  token_key=self.ctrader_key())
            return AccountSettings(id=account_id, role=role, label=self.label.strip(), rules=rules,
                                   copy_enabled=self.copy_enabled, magic=self.magic, **fields)
        if self.remote:
            # As `accounts link --worker-host nats` saves it: no terminal path, the bridge left at its defaults.
            return AccountSettings(
                id=account_id, role=role, platform=self.platform, login=self.login_number,
                server=self.server.strip(), label=self.label.strip(), rules=rules, copy_enabled=self.copy_enabled,
                magic=self.magic, worker_host="nats", nats=self.nats_settings())
        return AccountSettings(
            id=account_id, role=role, platform=self.platform,
            terminal_path=None if demo else self.terminal_path.strip(),
            login=self.login_number, server=self.server.strip(),
            bridge_host=self.bridge_host.strip(), bridge_port=self.bridge_port, bridge_kind=self.bridge_kind,
            demo_profile=self.demo_profile if demo else None, label=self.label.strip(), rules=rules,
            copy_enabled=self.copy_enabled, magic=self.magic)


def sizing_text(rules: CopyRules) -> str:
    """The sizing in words: "0.5 lots per copy", "in proportion to balances × 2"."""
    sizing = rules.sizing
    if sizing.mode == SizingMode.FIXED_LOT:
        return f"{sizing.lots:g} lots per copy"
    label = SIZING_LABELS.get(sizing.mode)
    if label is None:
        return f"{sizing.mode} × {sizing.multiplier:g}"
    return label.lower().replace("multiplier", f"{sizing.multiplier:g}")


def _nats_field(loc: str, text: str) -> str:
    """The draft field a NatsSettings problem is about: its own field, or, for the transport's checks
    across fields, the one its message names."""
    fields = {"url": "nats_url", "user": "nats_user", "ca": "nats_ca", "instance": "nats_instance"}
    if loc in fields:
        return fields[loc]
    if "instance" in text:
        return "nats_instance"
    if "credentials" in text or "NATS user" in text:
        return "nats_user"
    return "nats_url"


def _named(problems: list[tuple[str, str]]) -> Problems:
    """Pydantic's (``sizing.multiplier``, text) pairs keyed by the draft field the trader typed in."""
    draft_field = {"sizing.mode": "sizing_mode", "sizing.multiplier": "multiplier", "sizing.lots": "lots",
                   "symbols.aliases": "aliases"}
    named: Problems = {}
    for path, text in problems:
        key = next((name for prefix, name in draft_field.items() if path.startswith(prefix)), "rules")
        named.setdefault(key, f"{path}: {text}")
    return named
