"""``copier-gui accounts``: link, list and remove accounts and edit slaves' copy rules without a
window, as on a server.

It checks what the wizard checks (``copier_gui.account_setup``) and tests the connection the same
way. A password comes from a prompt, or one line of standard input when that is not a terminal,
and goes to the keyring; never through the command line. So does a cTrader application's secret;
a cTrader account's tokens come from the browser sign-in or the same prompts. A command that changes the settings
holds the user folder's lock meanwhile: a running copier reads the settings only when it starts
and the window writes them back when it closes, so a change made under it would be lost.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from copier_gui.ctrader_auth import Endpoints, LinkableAccount
    from copier_gui.paths import UserPaths
    from copier_gui.settings import AccountSettings, Settings

__all__ = ["add_parser", "run"]

EXIT_BAD_INPUT = 2
# Long enough for a terminal to start and log in; a bridge or terminal that never answers must
# not hang a script.
TEST_TIMEOUT_S = 60.0
_LINK_EXAMPLE = ("copier-gui accounts link ID --role master|slave --platform mt5|mt5_bridge|ctrader|demo "
                 "[--login N --server S --terminal-path P | --client-id ID | --demo-profile NAME]")
# The cTrader sign-in waits this long for the browser, and the Open API this long for the list.
CTRADER_BROWSER_TIMEOUT_S = 300.0


class Refused(Exception):
    """One line for the user and the exit code: 2 for bad input unless said otherwise."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class _RefuseSecret(argparse.Action):
    """``--password`` and the like exist only to say no, without repeating what was typed: a
    command line is kept in shell history and shown to other users in the process list."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(f"{option_string}: passwords and secrets are never taken on the command line "
                     "(shell history and process lists would show them); type it when asked, or "
                     "pipe it as one line on standard input")


# ---------------------------------------------------------------------------- the parser

def add_parser(sub: argparse._SubParsersAction) -> None:
    accounts = sub.add_parser(
        "accounts", help="link, list and remove accounts and edit copy rules without a window",
        description="Link, list and remove accounts and edit slaves' copy rules, as the window's "
                    "wizard does. Commands that change the settings wait for no copier: stop it "
                    "first, and start it again after.")
    actions = accounts.add_subparsers(dest="accounts_command", metavar="ACTION", required=True)

    actions.add_parser("list", help="the linked accounts, and whether each one's password is in the keyring")

    show = actions.add_parser("show", help="one account's settings, and which of its secrets the keyring holds "
                                           "(never the secrets)")
    show.add_argument("id")

    link = actions.add_parser(
        "link", help="link an account: checked, its password stored in the keyring, its connection tested",
        description="Link an account. The password is asked for (or read as one line from standard "
                    "input, e.g. `echo \"$PW\" | copier-gui accounts link ...`) and kept in the "
                    "system keyring; a demo broker opens the account with the password you choose.")
    link.add_argument("id", help="the account's id: lower-case letters, digits, '-' or '_'")
    link.add_argument("--role", required=True, choices=("master", "slave"))
    link.add_argument("--platform", required=True, choices=("mt5", "mt5_bridge", "ctrader", "demo"),
                      help="mt5: a terminal on this Windows computer; mt5_bridge: a terminal under Wine "
                           "reached through the bridge; ctrader: a cTrader account over the Open API; demo: "
                           "a simulated broker")
    link.add_argument("--login", metavar="N", help="the account number (a demo broker issues one if left out; "
                                                   "for cTrader, the number cTrader shows, to choose the account)")
    link.add_argument("--server", metavar="S", help="the trade server, as the terminal shows it")
    link.add_argument("--terminal-path", metavar="P", help="the terminal's terminal64.exe (mt5, mt5_bridge)")
    link.add_argument("--bridge", metavar="HOST:PORT", help="the bridge's address (default 127.0.0.1:18812)")
    link.add_argument("--bridge-kind", choices=("copier", "mt5linux", "mt5linux_remote"),
                      help="what answers at --bridge (mt5_bridge): copier, the copier's bridge (the default); "
                           "mt5linux, an mt5linux server on this computer, which has no shared secret; "
                           "mt5linux_remote, one on another computer (the password crosses the network "
                           "in clear)")
    link.add_argument("--demo-profile", metavar="NAME", help="the demo broker (demo accounts)")
    link.add_argument("--label", help="a name to show for the account")
    link.add_argument("--magic", type=int, metavar="M", help="the magic number on its copied orders")
    link.add_argument("--no-test", action="store_true",
                      help="link without connecting (for a terminal on another computer): nothing is checked "
                           "at the broker and the terminal path is taken as given")
    remote = link.add_argument_group(
        "a worker on another computer (--worker-host nats)",
        "The account's terminal runs on a worker host (`copier-gui worker-host --nats URL` there, with the "
        "account linked in its own settings and keyring); this copier reaches it over a NATS server. The NATS "
        "user's password is asked for (or read as one line of standard input) unless the keyring has it; the "
        "broker's password stays on the worker host.")
    remote.add_argument("--worker-host", choices=("local", "nats"),
                        help="where the account's worker runs: local, on this computer (the default); nats, on a "
                             "worker host reached over --nats (mt5, mt5_bridge)")
    remote.add_argument("--nats", metavar="URL", help="the NATS server, e.g. tls://hub.example:4222")
    remote.add_argument("--nats-user", metavar="USER", help="the NATS user; its password is kept in the keyring")
    remote.add_argument("--nats-password-key", metavar="KEY",
                        help="the keyring entry of the NATS user's password (default nats:USER)")
    remote.add_argument("--nats-ca", metavar="PEM", help="the certificate authority to trust for the NATS server")
    remote.add_argument("--nats-cert", metavar="PEM", help="a client certificate, where the server asks for one")
    remote.add_argument("--nats-key", metavar="PEM", help="the client certificate's private key")
    remote.add_argument("--nats-instance", metavar="NAME",
                        help="the copier's name on the bus, as the worker host's --instance (default copier)")
    ctrader = link.add_argument_group(
        "cTrader (--platform ctrader)",
        "The Open API application's secret is asked for (or read as the first line of standard input). "
        "The browser opens cTrader's sign-in; allow access, and the accounts of your cTrader ID are "
        "listed. docs/ctrader-linking.md explains each step.")
    ctrader.add_argument("--client-id", metavar="ID", help="the Open API application's client id")
    where = ctrader.add_mutually_exclusive_group()
    where.add_argument("--live", action="store_true", help="choose among live accounts only")
    where.add_argument("--demo-server", action="store_true",
                       help="choose among demo accounts only (on demo.ctraderapi.com)")
    ctrader.add_argument("--ctid-account", type=int, metavar="N",
                         help="the ctidTraderAccountId of the account to link (or use --login)")
    ctrader.add_argument("--paste-token", action="store_true",
                         help="no browser: paste an access token and a refresh token (from Spotware's "
                              "playground) when asked, after the application's secret")
    ctrader.add_argument("--redirect-port", type=int, metavar="P", default=0,
                         help="the port on 127.0.0.1 the browser returns to (default: any free one); "
                              "give the one in a redirect URI registered for the application")
    for flag in ("--password", "--bridge-secret", "--secret", "--client-secret", "--access-token",
                 "--refresh-token", "--token"):
        link.add_argument(flag, nargs="?", action=_RefuseSecret, help=argparse.SUPPRESS)

    remove = actions.add_parser("remove", help="unlink an account and delete its password from the keyring")
    remove.add_argument("id")
    remove.add_argument("--keep-password", action="store_true", help="leave its password in the keyring")

    set_master = actions.add_parser("set-master", help="make an account the master; the old master becomes a slave")
    set_master.add_argument("id")

    rules = actions.add_parser("rules", help="show or edit a slave's copy rules")
    rules_actions = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    show = rules_actions.add_parser("show", help="print a slave's copy rules, defaults included")
    show.add_argument("id")
    show.add_argument("--format", choices=("yaml", "json"), default="yaml")
    edit = rules_actions.add_parser(
        "edit", help="change a slave's copy rules",
        description="Change a slave's copy rules: --file replaces them (keys left out take their "
                    "defaults), then each --set changes one; without either, $VISUAL or $EDITOR "
                    "opens them. docs/rules.md explains each rule.")
    edit.add_argument("id")
    edit.add_argument("--file", metavar="RULES", help="the rules as YAML or JSON (.json); - reads standard input")
    edit.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="one rule, e.g. sizing.multiplier=0.5 or 'filters.include_symbols=[\"EURUSD\"]'; "
                           "VALUE is read as JSON (numbers, true, null, lists), else as text")


def run(paths: UserPaths, args: argparse.Namespace) -> int:
    command = args.accounts_command
    if command == "rules":
        command = f"rules {args.rules_command}"
    try:
        return _COMMANDS[command](paths, args)
    except Refused as exc:
        print(f"copier-gui: {'error: ' if exc.code == EXIT_BAD_INPUT else ''}{exc.message}", file=sys.stderr)
        return exc.code


# ---------------------------------------------------------------------------- settings in and out

def _load(paths: UserPaths) -> Settings:
    from copier_gui.settings import SettingsError, load_settings

    try:
        return load_settings(paths.settings_file, backups_dir=paths.backups_dir)
    except SettingsError as exc:
        raise Refused(exc.message) from None


@contextlib.contextmanager
def changing_settings(paths: UserPaths) -> Iterator[Settings]:
    """The settings, with the folder's lock held until the change is saved."""
    from copier_gui import instance

    try:
        lock = instance.InstanceLock(paths).acquire()
    except instance.AlreadyRunning:
        raise Refused(f"a copier is running on the user folder {paths.root}, and it reads the settings "
                      "only when it starts (the window also writes them back when it closes, which "
                      "would undo this change): stop it first, run this again, then start it",
                      code=instance.EXIT_ALREADY_RUNNING) from None
    except instance.FolderUnusable as exc:
        raise Refused(exc.message) from None
    with lock:
        yield _load(paths)


def save_user_settings(paths: UserPaths, settings: Settings) -> None:
    from copier_gui.settings import save_settings

    try:
        save_settings(settings, paths.settings_file)
    except OSError as exc:
        raise Refused(f"cannot save the settings to {paths.settings_file}: {exc.strerror or exc}") from None


def _account(settings: Settings, account_id: str) -> AccountSettings:
    account = settings.account(account_id)
    if account is None:
        known = ", ".join(a.id for a in settings.accounts) or "none are linked"
        raise Refused(f"no account '{account_id}' is linked (linked: {known})")
    return account


def slave_account(settings: Settings, account_id: str) -> AccountSettings:
    account = _account(settings, account_id)
    if account.role == "master":
        raise Refused(f"{account_id} is the master, which has no copy rules: rules belong to each slave")
    return account


def _problems(exc, raw: Any) -> str:
    from copier_gui.settings import validation_problems

    return "; ".join(f"{field}: {text}" for field, text in validation_problems(exc, raw))


# ---------------------------------------------------------------------------- secrets

def _read_secret(prompt: str, what: str) -> str:
    """One secret from the terminal without echo, or one line of piped standard input."""
    import getpass

    stdin = sys.stdin
    if stdin is not None and stdin.isatty():
        try:
            value = getpass.getpass(prompt)
        except EOFError:
            value = ""
    else:
        line = stdin.readline() if stdin is not None else ""
        if not line:
            raise Refused(f"no {what} on standard input: pipe it as one line, or run the command in a "
                          "terminal to be asked for it")
        value = line.rstrip("\r\n")
    if not value:
        raise Refused(f"the {what} is empty: a linked account needs one")
    return value


class _KeyringChange:
    """A secret stored for a link, and how to put back what was there if the link fails."""

    def __init__(self, read, write, delete) -> None:
        self.previous = read()
        self._write, self._delete = write, delete

    def apply(self, value: str) -> None:
        self._write(value)

    def undo(self) -> None:
        from copier_gui import secrets

        with contextlib.suppress(secrets.SecretsUnavailable):
            if self.previous is None:
                self._delete()
            else:
                self._write(self.previous)


# ---------------------------------------------------------------------------- link

def _link(paths: UserPaths, args: argparse.Namespace) -> int:
    from copier_gui import account_setup as setup
    from copier_gui.settings import AccountSettings

    _options_fit(args)
    if args.platform == "ctrader":
        return _link_ctrader(paths, args)
    with changing_settings(paths) as current:
        account = _new_account(args, current)
        updated = current.with_account(account)
        if account.platform == "demo" and setup.is_ctrader_demo(account.demo_profile):
            # A simulated cTrader broker is authorized by the demo itself: no password, no terminal.
            save_user_settings(paths, updated)
            _report_ctrader_demo(account)
            return 0
        if account.worker_host == "nats":
            # The broker's password and the terminal are the worker host's; only the bus's password is here.
            stored = _store_nats_password(account)
            save_user_settings(paths, updated)
            _report_nats_link(account, stored)
            return 0
        # Nothing is stored before every check has passed; a failed test puts back what was there.
        changes, broker_password = _store_secrets(account)
        tested = None
        if not args.no_test:
            try:
                tested = _test(account, broker_password)
            except setup.ConnectionTestFailed as exc:
                for change in changes:
                    change.undo()
                hint = (" Add --no-test to link it without the test (for a terminal on another computer)."
                        if account.platform != "demo" else "")
                raise Refused(f"the connection test failed: {exc.message.rstrip('.')}. Nothing was linked."
                              f"{hint}") from None
            if not args.label:  # named after what the broker said, as the wizard suggests
                account = AccountSettings.model_validate(
                    {**dict(account), "label": f"{tested.state.company} {tested.state.login}"})
                updated = current.with_account(account)
        save_user_settings(paths, updated)
    _report_link(account, tested, setup.account_password_key(account))
    return 0


def _report_ctrader_demo(account: AccountSettings) -> None:
    from copier_gui import account_setup as setup

    role = "the master" if account.role == "master" else "a slave"
    print(f"{account.id} linked as {role}: account {account.login} at the simulated cTrader broker "
          f"{setup.demo_company(account.demo_profile)} ({account.server}); a simulated cTrader broker needs no "
          "password, and it is not tested here: the copier connects to it when it starts")


def _new_account(args: argparse.Namespace, current: Settings) -> AccountSettings:
    """The account the options describe, checked as the wizard checks it and against the others."""
    from pydantic import ValidationError

    from copier_gui import account_setup as setup
    from copier_gui.clock import SYSTEM_CLOCK
    from copier_gui.settings import AccountSettings
    from copier_gui.sim import PROFILES

    platform = args.platform
    _check_id_and_role(args, current)
    login = None
    if args.login is not None:
        problem = setup.login_problem(args.login)
        if problem:
            raise Refused(problem)
        login = int(args.login)
    fields: dict[str, Any] = {"id": args.id, "role": args.role, "platform": platform, "label": args.label or ""}
    if args.magic is not None:
        fields["magic"] = args.magic
    if platform == "demo":
        if args.demo_profile is None:
            from copier_gui.sim.ctrader import CTRADER_PROFILES

            raise Refused(f"a demo account needs --demo-profile, the demo broker: one of "
                          f"{', '.join(sorted([*PROFILES, *CTRADER_PROFILES]))}")
        problem = setup.demo_profile_problem(args.demo_profile)
        if problem:
            raise Refused(problem)
        server = setup.demo_server(args.demo_profile)
        if args.server is not None and args.server != server:
            raise Refused(f"the demo broker {args.demo_profile}'s server is {server}, not "
                          f"{args.server}: leave out --server")
        if login is None:  # the demo broker opens a new account, as the wizard's does
            taken = [a.login for a in current.accounts if a.server == server and a.login is not None]
            login = setup.issue_demo_login(args.demo_profile, SYSTEM_CLOCK, taken)
        fields.update(demo_profile=args.demo_profile, server=server, login=login)
    else:
        if login is None:
            raise Refused(f"an {platform} account needs --login, the account number the broker gave you")
        if args.server is None:
            raise Refused(f"an {platform} account needs --server, the trade server's name exactly as "
                          "the terminal shows it (for example Broker-Demo)")
        problem = setup.server_problem(args.server)
        if problem:
            raise Refused(problem)
        remote = args.worker_host == "nats"
        if args.terminal_path is None and not remote:  # a worker host's own settings say where its terminal is
            raise Refused(f"an {platform} account needs --terminal-path, the terminal's terminal64.exe"
                          + (" as the Windows side under Wine sees it" if platform == "mt5_bridge" else ""))
        if args.terminal_path is not None:
            # Only Windows runs the terminal: elsewhere its path is another computer's, and the test
            # says that MetaTrader 5 needs Windows.
            problem = setup.terminal_path_problem(args.terminal_path, platform,
                                                  check_exists=not args.no_test and not remote
                                                  and sys.platform == "win32")
            if problem:
                raise Refused(problem)
        fields.update(login=login, server=args.server.strip(), terminal_path=args.terminal_path)
        if platform == "mt5_bridge" and args.bridge is not None:
            fields["bridge_host"], fields["bridge_port"] = _bridge_address(args.bridge)
        if platform == "mt5_bridge" and args.bridge_kind is not None:
            fields["bridge_kind"] = args.bridge_kind
    if args.worker_host == "nats":
        fields.update(worker_host="nats", nats=_nats_fields(args))
    try:
        account = AccountSettings.model_validate(fields)
        current.with_account(account)  # the checks across accounts, as saving makes them
    except ValidationError as exc:
        raise Refused(_problems(exc, fields)) from None
    if account.bridge_kind == "mt5linux":
        _refuse_remote_mt5linux(account)  # even untested: the copier would refuse it when it starts
    return account


def _refuse_remote_mt5linux(account: AccountSettings) -> None:
    from copier_gui.bridge import BridgeError
    from copier_gui.bridge.mt5linux import MT5LinuxBridge

    try:  # the client's own check, so the message is the one the copier gives; nothing connects
        MT5LinuxBridge(account.bridge_host, account.bridge_port)
    except BridgeError as exc:
        raise Refused(str(exc)) from None


def _store_secrets(account: AccountSettings) -> tuple[list[_KeyringChange], str | None]:
    """Read the password (and a bridge's secret) and store them; returns the changes, to undo if
    the link fails, and the password a demo broker that opened this account before knows."""
    from copier_gui import account_setup as setup
    from copier_gui import secrets

    key = setup.account_password_key(account)
    password = _read_secret(f"Password for account {account.login} at {account.server}: ", "password")
    values = [password]
    try:
        changes = [_KeyringChange(lambda: secrets.get_password(key),
                                  lambda value: secrets.store_password(key, value),
                                  lambda: secrets.delete_password(key))]
        # An mt5linux server has no shared secret: only the copier's bridge is paired.
        if account.platform == "mt5_bridge" and account.bridge_kind == "copier":
            from copier_gui.bridge import pairing

            host, port = account.bridge_host, account.bridge_port
            bridge_secret = _read_secret(f"Bridge shared secret for {host}:{port}: ", "bridge shared secret")
            problem = pairing.secret_problem(bridge_secret)
            if problem:
                raise Refused(problem)
            values.append(bridge_secret)
            # The bridge's pairing, shared by every account reached through that bridge.
            changes.append(_KeyringChange(lambda: pairing.bridge_secret(host, port),
                                          lambda value: pairing.store_bridge_secret(host, port, value),
                                          lambda: pairing.delete_bridge_secret(host, port)))
        applied = []
        try:
            for change, value in zip(changes, values, strict=True):
                change.apply(value)
                applied.append(change)
        except secrets.SecretsUnavailable:
            for change in applied:
                change.undo()
            raise
    except secrets.SecretsUnavailable as exc:
        raise Refused(exc.message) from None
    finally:
        values.clear()  # the secrets live on only in the keyring
    return changes, changes[0].previous if account.platform == "demo" else None


def _options_fit(args: argparse.Namespace) -> None:
    """Options that do not apply to the platform are refused, not ignored: they show a mistake."""
    platform = args.platform
    misplaced = []
    if platform != "mt5_bridge" and args.bridge_kind is not None:
        misplaced.append("--bridge-kind")
    if platform == "ctrader":
        misplaced += [opt for opt, value in (("--server", args.server), ("--terminal-path", args.terminal_path),
                                             ("--bridge", args.bridge), ("--demo-profile", args.demo_profile),
                                             ("--no-test", args.no_test or None)) if value is not None]
    else:
        misplaced += [opt for opt, value in (("--client-id", args.client_id), ("--live", args.live or None),
                                             ("--demo-server", args.demo_server or None),
                                             ("--ctid-account", args.ctid_account),
                                             ("--paste-token", args.paste_token or None),
                                             ("--redirect-port", args.redirect_port or None)) if value is not None]
    if platform == "ctrader":
        pass
    elif platform == "demo":
        misplaced += [opt for opt, value in (("--terminal-path", args.terminal_path), ("--bridge", args.bridge))
                      if value is not None]
    else:
        if args.demo_profile is not None:
            misplaced.append("--demo-profile")
        if platform == "mt5" and args.bridge is not None:
            misplaced.append("--bridge")
    if misplaced:
        raise Refused(f"{' and '.join(misplaced)} {'does' if len(misplaced) == 1 else 'do'} not apply to "
                      f"{platform} accounts")
    nats = [opt for opt, value in _nats_options(args) if value is not None]
    if args.worker_host != "nats" and nats:
        raise Refused(f"{' and '.join(nats)} {'does' if len(nats) == 1 else 'do'} not apply without "
                      "--worker-host nats")
    if args.worker_host == "nats" and args.nats is None:
        raise Refused("--worker-host nats needs --nats URL, the NATS server its worker host serves it on")


def _nats_options(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    return [("--nats", args.nats), ("--nats-user", args.nats_user), ("--nats-password-key", args.nats_password_key),
            ("--nats-ca", args.nats_ca), ("--nats-cert", args.nats_cert), ("--nats-key", args.nats_key),
            ("--nats-instance", args.nats_instance)]


def _nats_fields(args: argparse.Namespace) -> dict[str, str]:
    """The account's ``nats`` settings from the options given (the rest keep their defaults)."""
    names = {"--nats": "url", "--nats-user": "user", "--nats-password-key": "password_key", "--nats-ca": "ca",
             "--nats-cert": "cert", "--nats-key": "key", "--nats-instance": "instance"}
    return {names[opt]: value for opt, value in _nats_options(args) if value is not None}


def _store_nats_password(account: AccountSettings) -> bool:
    """The NATS user's password into the keyring, asked for unless it is there already; True if
    it was stored now. Nothing to do for a bus on this computer without a user."""
    from copier_gui import secrets

    options = account.nats.options()
    if not options.user:
        return False
    try:
        if secrets.get_secret(options.password_key, what="NATS password") is not None:
            return False
        password = _read_secret(f"NATS password for {options.user} at {options.url}: ", "NATS password")
        try:
            secrets.store_secret(options.password_key, password, what="NATS password")
        finally:
            password = ""
    except secrets.SecretsUnavailable as exc:
        raise Refused(exc.message) from None
    return True


def _report_nats_link(account: AccountSettings, stored: bool) -> None:
    options = account.nats.options()
    role = "the master" if account.role == "master" else "a slave"
    print(f"not tested here: its worker host serves account {account.login} at {account.server} over "
          f"{options.url}, with the password in its own keyring, and the copier connects to it when it starts")
    if options.user:
        state = "stored in" if stored else "already in"
        print(f"the NATS password for {options.user} is {state} the system keyring ({options.password_key}), "
              "not in any file")
    print(f"{account.id} linked as {role}, its worker on a worker host; on that computer, link the account "
          f"there too and run `copier-gui worker-host --nats {options.url} --account {account.id}`")
    if account.role == "slave":
        print(f"copy rules: the defaults (the master's lots × 1); see them with `copier-gui accounts rules "
              f"show {account.id}`, change them with `copier-gui accounts rules edit {account.id}`")


def _bridge_address(text: str) -> tuple[str, int]:
    from copier_gui import account_setup as setup

    host, sep, port_text = text.strip().rpartition(":")
    host = host.strip().removeprefix("[").removesuffix("]")  # [::1]:18812
    if not sep or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise Refused(f"--bridge {text!r}: write it as HOST:PORT, e.g. 127.0.0.1:18812")
    problem = setup.bridge_host_problem(host)
    if problem:
        raise Refused(problem)
    return host, int(port_text)


def _test(account: AccountSettings, broker_password: str | None):
    import asyncio

    from copier_gui import account_setup as setup
    from copier_gui.clock import SYSTEM_CLOCK
    from copier_gui.sim import PROFILES

    where = (f"the demo broker {PROFILES[account.demo_profile].company}" if account.platform == "demo"
             else f"the {_server(account)} at {account.bridge_host}:{account.bridge_port}"
             if account.platform == "mt5_bridge"
             else f"the terminal {account.terminal_path}")
    print(f"testing: connecting to account {account.login} at {account.server} through {where}...", flush=True)
    connection = setup.open_test_connection(account, SYSTEM_CLOCK, broker_password=broker_password)

    async def attempt():
        try:
            return await asyncio.wait_for(setup.run_connection_test(connection), TEST_TIMEOUT_S)
        except TimeoutError:
            raise setup.ConnectionTestFailed(f"no answer within {TEST_TIMEOUT_S:.0f} seconds: check that "
                                             "the terminal is running and logged in") from None

    return asyncio.run(attempt())


def _report_link(account: AccountSettings, tested, key: str) -> None:
    from copier_gui import secrets

    if tested is not None:
        state = tested.state
        mode = "hedging" if state.hedging else "netting"
        print(f"connected to account {state.login} at {state.company}: {state.name}, {state.currency}, "
              f"balance {state.balance:,.2f} {state.currency}, {mode}, {len(tested.symbols)} symbols")
        if not state.trade_allowed:
            print(f"warning: trading is not allowed on it: {state.trading_blocked or 'enable Algo Trading'}")
    else:
        print("not tested (--no-test): the login, server and password were not checked; the copier "
              "connects with them when it starts")
    role = "the master" if account.role == "master" else "a slave"
    print(f"{account.id} linked as {role}; its password is in the system keyring ({key}), not in any file")
    if account.role == "slave":
        print(f"copy rules: the defaults (the master's lots × 1); see them with `copier-gui accounts rules "
              f"show {account.id}`, change them with `copier-gui accounts rules edit {account.id}`")
    warning = secrets.keyring_warning()
    if warning:
        print(f"note: {warning}")


# ---------------------------------------------------------------------------- link --platform ctrader
# The Open API application's secret comes from a prompt or the first line of piped standard input,
# never from the command line. The trader signs in in the browser (or pastes a playground token pair
# with --paste-token), the token's accounts are listed, and one is chosen by --login or --ctid-account
# or, at a terminal, by its number in the list. The secret and the pair go to the keyring; the
# settings keep only their keyring names.

def ctrader_endpoints() -> Endpoints:
    """Where the sign-in and the Open API are: Spotware's (a test points this at simulated ones)."""
    from copier_gui.ctrader_auth import DEFAULT_ENDPOINTS

    return DEFAULT_ENDPOINTS


def _ctrader_open_browser(url: str) -> bool:
    import webbrowser

    return webbrowser.open(url)  # looked up at each call, so a test's browser stands in


def _link_ctrader(paths: UserPaths, args: argparse.Namespace) -> int:
    import asyncio

    from copier_gui import account_setup as setup
    from copier_gui import ctrader_auth, secrets
    from copier_gui.connectors.ctrader import AppCredentials

    if args.client_id is None:
        # A required option left out, said the way argparse says it (usage error, exit code 2).
        print("copier-gui accounts link: error: --platform ctrader needs --client-id, the Open API "
              "application's client id (openapi.ctrader.com > Applications)", file=sys.stderr)
        raise SystemExit(2)
    problem = ctrader_auth.client_id_problem(args.client_id)
    if problem:
        raise Refused(problem)
    client_id = args.client_id.strip()
    if not 0 <= args.redirect_port <= 65535:
        raise Refused(f"--redirect-port {args.redirect_port} is not a port: use 1 to 65535")
    with changing_settings(paths) as current:
        _ctrader_check_id_and_role(args, current)
        secret = _read_secret(f"Secret of the Open API application {client_id}: ", "application secret")
        problem = ctrader_auth.client_secret_problem(secret)
        if problem:
            raise Refused(problem)
        credentials = AppCredentials(client_id, secret.strip())
        del secret
        pasted = _ctrader_read_pasted() if args.paste_token else None
        tokens, accounts = asyncio.run(_ctrader_authorize(credentials, pasted, args))
        chosen = _ctrader_choose(accounts, args)
        key = ctrader_auth.token_key(client_id, [a.account_id for a in accounts], current.accounts)
        account = _ctrader_settings(args, current, chosen, client_id, key)
        updated = current.with_account(account)
        changes: list[_KeyringChange] = []
        try:
            changes += [_KeyringChange(lambda: secrets.get_secret(ctrader_auth.app_secret_key(client_id)),
                           lambda value: secrets.store_secret(ctrader_auth.app_secret_key(client_id), value,
                                                              what="cTrader application secret"),
                           lambda: secrets.delete_secret(ctrader_auth.app_secret_key(client_id)))]
            changes += [_KeyringChange(lambda: secrets.get_secret(key),
                                       lambda value: secrets.store_secret(key, value, what="cTrader tokens"),
                                       lambda: secrets.delete_secret(key))]
            setup.store_ctrader_secrets(client_id, credentials.client_secret, key, tokens)
        except secrets.SecretsUnavailable as exc:
            for change in changes:
                change.undo()
            raise Refused(f"{exc.message} Nothing was linked.") from None
        try:
            save_user_settings(paths, updated)
        except Refused:
            for change in changes:
                change.undo()
            raise
    _ctrader_report(account, chosen, key)
    return 0


def _check_id_and_role(args: argparse.Namespace, current: Settings) -> None:
    """Refused unless the new account's id is free and its role fits the accounts linked."""
    from copier_gui import account_setup as setup

    problem = setup.account_id_problem(args.id, {a.id for a in current.accounts})
    if problem:
        raise Refused(problem)
    problem = setup.master_problem(args.role, current.master.id if current.master is not None else None)
    if problem:
        raise Refused(f"{problem}, then make it the master with `copier-gui accounts set-master "
                      f"{args.id}` (the old master becomes a slave)")


def _ctrader_check_id_and_role(args: argparse.Namespace, current: Settings) -> None:
    _check_id_and_role(args, current)
    if args.login is not None and (not args.login.strip().isdigit() or not args.login.strip().isascii()):
        raise Refused(f"--login {args.login}: the number cTrader shows for the account")


def _ctrader_read_pasted() -> tuple[str, str]:
    access = _read_secret("Access token (from the playground): ", "access token")
    refresh = _read_secret("Refresh token: ", "refresh token")
    return access, refresh


async def _ctrader_authorize(credentials, pasted: tuple[str, str] | None, args: argparse.Namespace):
    import asyncio

    from copier_gui import ctrader_auth

    where = ctrader_endpoints()
    try:
        if pasted is not None:
            tokens = ctrader_auth.pasted_tokens(*pasted)
        else:
            flow = ctrader_auth.BrowserAuthorization(credentials, endpoints=where, opener=_ctrader_open_browser,
                                                     port=args.redirect_port, timeout=CTRADER_BROWSER_TIMEOUT_S)
            task = asyncio.ensure_future(flow.run())
            waiting = asyncio.ensure_future(flow.waiting.wait())
            await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if flow.url is not None:
                said = ("opened cTrader's sign-in in your browser" if flow.browser_opened
                        else "no browser could be opened here")
                print(f"{said}: sign in and allow access. If it did not open, visit this address in a browser on "
                      f"this computer (it returns to {flow.redirect_uri}):\n  {flow.url}\n"
                      f"waiting up to {CTRADER_BROWSER_TIMEOUT_S / 60:.0f} minutes...", flush=True)
            tokens = await task
        print("authorized; listing the accounts...", flush=True)
        accounts = await ctrader_auth.list_accounts(credentials, tokens, endpoints=where)
    except ctrader_auth.AuthFailed as exc:
        raise Refused(f"{exc.message.rstrip('.')}. Nothing was linked.") from None
    if not accounts:
        raise Refused("the token gives access to no account: in the consent page, tick the accounts to link. "
                      "Nothing was linked.")
    return tokens, accounts


def _ctrader_choose(accounts: list[LinkableAccount], args: argparse.Namespace) -> LinkableAccount:
    candidates = list(accounts)
    if args.live or args.demo_server:
        candidates = [a for a in candidates if a.is_live == bool(args.live)]
    if args.ctid_account is not None:
        candidates = [a for a in candidates if a.account_id == args.ctid_account]
    if args.login is not None:
        candidates = [a for a in candidates if a.login == int(args.login)]
    if len(candidates) == 1:
        return candidates[0]
    listing = "\n".join(f"  {n}. {_ctrader_line(a)}" for n, a in enumerate(accounts, 1))
    if not candidates:
        wanted = ", ".join(text for text, given in (
            ("live" if args.live else "demo", args.live or args.demo_server),
            (f"ctidTraderAccountId {args.ctid_account}", args.ctid_account is not None),
            (f"login {args.login}", args.login is not None)) if given)
        raise Refused(f"no account the token gives access to is {wanted}; it gives:\n{listing}\nNothing was linked.")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise Refused(f"the token gives access to several accounts; choose one with --login N or "
                      f"--ctid-account N:\n{listing}\nNothing was linked.")
    print("the token gives access to these accounts:")
    shown = candidates
    for n, account in enumerate(shown, 1):
        print(f"  {n}. {_ctrader_line(account)}")
    answer = input(f"link which one (1-{len(shown)})? ").strip()
    if not answer.isdigit() or not 1 <= int(answer) <= len(shown):
        raise Refused(f"{answer!r} is not one of 1 to {len(shown)}. Nothing was linked.")
    return shown[int(answer) - 1]


def _ctrader_line(account: LinkableAccount) -> str:
    balance = f", balance {account.balance:,.2f}" if account.balance is not None else ""
    return (f"login {account.login} at {account.broker_name or account.broker}, {account.kind}, "
            f"{account.account_type or 'hedged/netted unknown'}{balance} "
            f"(ctidTraderAccountId {account.account_id})")


def _ctrader_settings(args: argparse.Namespace, current: Settings, chosen: LinkableAccount, client_id: str,
              key: str) -> AccountSettings:
    from pydantic import ValidationError

    from copier_gui import account_setup as setup
    from copier_gui.settings import AccountSettings

    fields = {"id": args.id, "role": args.role, "label": args.label or f"{chosen.broker_name or chosen.broker} "
                                                                    f"{chosen.login}",
              **setup.ctrader_fields(chosen, client_id=client_id, token_key=key)}
    if args.magic is not None:
        fields["magic"] = args.magic
    try:
        account = AccountSettings.model_validate(fields)
        current.with_account(account)
    except ValidationError as exc:
        raise Refused(_problems(exc, fields)) from None
    return account


def _ctrader_report(account: AccountSettings, chosen: LinkableAccount, key: str) -> None:
    from copier_gui import ctrader_auth, secrets

    print(f"account {chosen.login} at {chosen.broker_name or chosen.broker}: {chosen.kind}, "
          f"{chosen.account_type or 'hedged or netted not known'}"
          + (f", {len(chosen.symbols)} symbols" if chosen.symbols else "")
          + f"; ctidTraderAccountId {chosen.account_id} on {chosen.host}:{chosen.port}")
    if chosen.problem:
        print(f"note: {chosen.problem}")
    role = "the master" if account.role == "master" else "a slave"
    print(f"{account.id} linked as {role}; the application's secret ({ctrader_auth.app_secret_key(account.ctrader_client_id)}) "
          f"and the cTrader tokens ({key}) are in the system keyring, not in any file")
    if account.role == "slave":
        print(f"copy rules: the defaults (the master's lots × 1); change them with `copier-gui accounts rules "
              f"edit {account.id}`")
    warning = secrets.keyring_warning()
    if warning:
        print(f"note: {warning}")


# ---------------------------------------------------------------------------- list

def _list(paths: UserPaths, args: argparse.Namespace) -> int:
    from copier_gui import account_setup as setup
    from copier_gui import secrets

    current = _load(paths)
    if not current.accounts:
        print(f"no linked accounts in {paths.settings_file}: link them with `{_LINK_EXAMPLE}`")
        return 0
    keyring_problem = ""
    rows = [("", "ID", "ROLE", "PLATFORM", "ACCOUNT", "COPY", "PASSWORD", "LABEL")]
    for a in current.accounts:
        where = f"{a.login}@{a.server}" if a.login is not None else "(as saved in the terminal)"
        if a.platform == "ctrader":
            state, problem = _ctrader_secrets_state(a)
            keyring_problem = problem or keyring_problem
            rows.append(("*" if a.role == "master" else "", a.id, a.role, a.platform,
                         f"{where} ({_ctrader_kind(a)})", "on" if a.copy_enabled else "off", state, a.label))
            continue
        if a.platform == "demo":
            where += f" (demo {a.demo_profile})"
        elif a.platform == "mt5_bridge":
            where += f" via {a.bridge_host}:{a.bridge_port}" + ("" if a.bridge_kind == "copier" else " (mt5linux)")
        if a.worker_host == "nats":
            where += " on a worker host over NATS"
        try:
            if a.worker_host == "nats":
                # The broker's password is the worker host's; the bus's is the one kept here.
                options = a.nats.options()
                password = "on worker host"
                if options.user and secrets.get_secret(options.password_key, what="NATS password") is None:
                    password += ", no NATS password"
            elif a.platform == "demo" and setup.is_ctrader_demo(a.demo_profile):
                password = "none needed"  # a simulated cTrader broker has no password
            else:
                password = "stored" if secrets.get_password(setup.account_password_key(a)) else "missing"
            if a.platform == "mt5_bridge" and a.bridge_kind == "copier" and not _bridge_secret(a):
                password += ", no bridge secret"
        except secrets.SecretsUnavailable as exc:
            password, keyring_problem = "unknown", exc.message
        rows.append(("*" if a.role == "master" else "", a.id, a.role, a.platform, where,
                     "on" if a.copy_enabled else "off", password, a.label))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    slaves = len(current.slaves)
    print(f"\n{'* the master. 1 master' if current.master else 'no master'}, {slaves} "
          f"slave{'s' if slaves != 1 else ''}; copying is {'on' if current.copying else 'off'} for all accounts")
    if current.master is None:
        print("no master: copying needs one; link one, or make a slave the master with "
              "`copier-gui accounts set-master ID`")
    elif not slaves:
        print("no slave yet: link one to copy to")
    if keyring_problem:
        print(f"the keyring could not be read: {keyring_problem}")
    return 0


def _ctrader_kind(account: AccountSettings) -> str:
    return "live" if account.ctrader_host.startswith("live.") else "demo" if account.ctrader_host.startswith(
        "demo.") else f"at {account.ctrader_host}:{account.ctrader_port}"


def _ctrader_secrets_state(account: AccountSettings) -> tuple[str, str]:
    """The PASSWORD column of a cTrader account (its tokens and application secret), and the
    keyring's problem when it could not be read ("" when it could)."""
    from copier_gui import ctrader_auth, secrets

    try:
        tokens = secrets.get_secret(account.ctrader_token_key or "") is not None
        app = secrets.get_secret(ctrader_auth.app_secret_key(account.ctrader_client_id or "")) is not None
    except secrets.SecretsUnavailable as exc:
        return "unknown", exc.message
    state = "tokens stored" if tokens else "tokens missing"
    if not app:
        state += ", no app secret"
    return state, ""


# ---------------------------------------------------------------------------- show

def _show(paths: UserPaths, args: argparse.Namespace) -> int:
    """One account's settings in words; of its secrets only where the keyring keeps them."""
    from copier_gui import account_setup as setup
    from copier_gui import ctrader_auth, secrets

    account = _account(_load(paths), args.id)
    lines = [("id", account.id), ("role", account.role), ("platform", account.platform),
             ("label", account.label or "(none)"), ("mode", str(account.mode.value)), ("magic", str(account.magic))]
    entries: list[tuple[str, str]] = []
    if account.platform == "ctrader":
        lines += [("login", str(account.login)), ("broker", account.server or "(unknown)"),
                  ("ctidTraderAccountId", str(account.ctrader_account_id)),
                  ("Open API", f"{account.ctrader_host}:{account.ctrader_port} ({_ctrader_kind(account)})"),
                  ("application", account.ctrader_client_id or "")]
        entries = [("application secret", ctrader_auth.app_secret_key(account.ctrader_client_id or "")),
                   ("tokens", account.ctrader_token_key or "")]
    else:
        lines += [("login", str(account.login)), ("server", account.server or "(as saved in the terminal)")]
        if account.platform == "demo":
            lines.append(("demo broker", f"{account.demo_profile} ({setup.demo_company(account.demo_profile)})"))
        else:
            lines.append(("terminal", account.terminal_path
                          or ("as its worker host's settings say" if account.worker_host == "nats" else "")))
        if account.platform == "mt5_bridge":
            lines.append(("bridge", f"{account.bridge_host}:{account.bridge_port} ({account.bridge_kind})"))
        if account.worker_host == "nats":
            options = account.nats.options()
            user = f"user {options.user}, " if options.user else ""
            tls = f", CA {options.ca}" if options.ca else ""
            cert = f", client certificate {options.cert}" if options.cert else ""
            lines += [("worker host", f"nats {options.url} ({user}instance {options.instance}{tls}{cert})"),
                      ("password", "kept by its worker host, not here")]
            if options.user:
                entries = [("NATS password", options.password_key)]
        elif not (account.platform == "demo" and setup.is_ctrader_demo(account.demo_profile)):
            entries = [("password", setup.account_password_key(account))]
    width = max(len(name) for name, _ in lines + entries) + 1
    for name, value in lines:
        print(f"{name + ':':<{width}} {value}")
    for name, key in entries:
        try:
            value = secrets.get_secret(key)
            state = (f"in the system keyring ({key})" if value is not None
                     else f"MISSING from the system keyring ({key})")
            if name == "tokens" and value is not None:
                state += _token_expiry(value)
        except secrets.SecretsUnavailable as exc:
            state = f"unknown ({key}): {exc.message}"
        print(f"{name + ':':<{width}} {state}")
    return 0


def _token_expiry(text: str) -> str:
    import datetime as dt

    from copier_gui import ctrader_auth

    try:
        pair = ctrader_auth.tokens_from_json(text)
    except ctrader_auth.AuthFailed:
        return ", but not readable: link the account again"
    when = dt.datetime.fromtimestamp(pair.expires_at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"; the access token runs until {when} and is refreshed then"


# ---------------------------------------------------------------------------- remove, set-master

def _remove(paths: UserPaths, args: argparse.Namespace) -> int:
    from copier_gui import account_setup as setup
    from copier_gui import secrets

    with changing_settings(paths) as current:
        account = _account(current, args.id)
        updated = current.without_account(account.id)
        save_user_settings(paths, updated)
    print(f"{account.id} removed")
    try:
        if args.keep_password:
            key = setup.account_password_key(account)
            print(f"its password is kept in the keyring ({key}): linking the account again uses it")
        else:
            for line in setup.forget_secrets(account, updated):
                print(line)
    except secrets.SecretsUnavailable as exc:
        raise Refused(f"{account.id} was removed, but its password could not be deleted: {exc.message}") from None
    if account.role == "master":
        print("warning: there is no master now, and copying needs a master: link one, or make a slave "
              "the master with `copier-gui accounts set-master ID`")
    return 0


def _server(account: AccountSettings) -> str:
    return "bridge" if account.bridge_kind == "copier" else "mt5linux server"


def _bridge_secret(account: AccountSettings) -> str | None:
    from copier_gui.bridge import pairing

    return pairing.bridge_secret(account.bridge_host, account.bridge_port)


def _set_master(paths: UserPaths, args: argparse.Namespace) -> int:
    from copier_gui.core.rules import CopyRules

    with changing_settings(paths) as current:
        account = _account(current, args.id)
        if account.role == "master":
            print(f"{account.id} is already the master")
            return 0
        old = current.master
        save_user_settings(paths, current.with_master(account.id))
    print(f"{account.id} is now the master")
    if account.copy_rules != CopyRules():
        # A master has no rules: what was set is printed as a command, so it is not lost.
        import shlex

        changed = _changed_rules(CopyRules().model_dump(mode="json"), account.copy_rules.model_dump(mode="json"))
        print("the copy rules it had as a slave no longer apply (a master has none); to give them to "
              "a slave: copier-gui accounts rules edit SLAVE "
              + " ".join(f"--set {shlex.quote(f'{key}={json.dumps(value)}')}" for key, value in changed))
    if old is not None:
        print(f"{old.id} is now a slave, with the default copy rules: see them with "
              f"`copier-gui accounts rules show {old.id}`")
    return 0


# ---------------------------------------------------------------------------- rules

def _rules_show(paths: UserPaths, args: argparse.Namespace) -> int:
    import yaml

    rules = slave_account(_load(paths), args.id).copy_rules.model_dump(mode="json")
    if args.format == "json":
        print(json.dumps(rules, indent=2))
    else:
        print(yaml.safe_dump(rules, sort_keys=False), end="")
    return 0


def _rules_edit(paths: UserPaths, args: argparse.Namespace) -> int:
    import copy

    from pydantic import ValidationError

    from copier_gui.core.rules import CopyRules

    with changing_settings(paths) as current:
        account = slave_account(current, args.id)
        before = account.copy_rules.model_dump(mode="json")
        kept = None
        if args.file is None and not args.set:
            data, kept = _edit_in_editor(account.id, before)
        else:
            data = _read_rules(args.file) if args.file is not None else copy.deepcopy(before)
            for item in args.set:
                _apply_setting(data, item)
        try:
            rules = CopyRules.model_validate(data)
        except ValidationError as exc:
            again = f" (your edit is kept in {kept}: fix it, then give it with --file)" if kept else ""
            raise Refused(f"the rules for {account.id} are not valid, nothing was changed: "
                          f"{_problems(exc, data)}{again}") from None
        after = rules.model_dump(mode="json")
        if after == before:
            print(f"no change to the rules for {account.id}")
            _discard(kept)
            return 0
        updated = current.with_account(account.model_copy(update={"rules": rules}))
        save_user_settings(paths, updated)
    _discard(kept)
    print(f"rules for {account.id} saved:")
    for line in rule_differences(before, after):
        print(f"  {line}")
    return 0


def _read_rules(name: str) -> Any:
    from pathlib import Path

    from copier_gui import strictjson

    if name == "-":
        text, where = sys.stdin.read(), "standard input"
    else:
        try:
            text, where = Path(name).read_text(encoding="utf-8-sig"), name
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise Refused(f"cannot read the rules file {name}: {reason}") from None
    if name.lower().endswith(".json"):
        try:
            data = strictjson.loads(text)
        except strictjson.DuplicateKeysError as exc:
            keys = ", ".join(f"the key {key!r} appears twice" for _, key in exc.duplicates)
            raise Refused(f"{where}: {keys}: keep one of them") from None
        except json.JSONDecodeError as exc:
            raise Refused(f"{where}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    else:
        data = _parse_yaml(text, where)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise Refused(f"{where}: expected the rules as a mapping (sizing:, symbols:, filters:, ...), "
                      f"not a {type(data).__name__}")
    return data


def _parse_yaml(text: str, where: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise Refused(f"{where}: not valid YAML{at}: {getattr(exc, 'problem', None) or exc}") from None


def _apply_setting(data: dict, item: str) -> None:
    """``sizing.multiplier=0.5`` into ``data``; groups on the way are made as needed."""
    key, sep, text = item.partition("=")
    path = key.strip().split(".")
    if not sep or not all(path):
        raise Refused(f"--set {item!r}: write it as KEY=VALUE, e.g. sizing.multiplier=0.5")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text  # plain text: a mode's name, a symbol
    node = data
    for depth, part in enumerate(path[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            where = ".".join(path[:depth + 1])
            raise Refused(f"--set {key}: {where} is a single value ({json.dumps(child)}), not a group of rules")
        node = child
    node[path[-1]] = value
    from copier_gui.core.rules import RENAMED_KEYS

    # An older key stands for a newer one the saved rules already hold: it replaces it.
    if path[-1] in RENAMED_KEYS:
        node.pop(RENAMED_KEYS[path[-1]], None)


def _edit_in_editor(account_id: str, rules: dict) -> tuple[Any, str]:
    """The rules as edited in $VISUAL/$EDITOR, and the file they were edited in."""
    import os
    import shlex
    import subprocess
    import tempfile

    import yaml

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise Refused("give the changes with --set KEY=VALUE (e.g. --set sizing.multiplier=0.5) or "
                      "--file RULES.yaml; there is no terminal here to open an editor in")
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise Refused("no editor is set: set EDITOR (e.g. EDITOR=nano), or give the changes with "
                      "--set KEY=VALUE or --file RULES.yaml")
    fd, name = tempfile.mkstemp(prefix=f"copier-gui-rules-{account_id}-", suffix=".yaml")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"# Copy rules of {account_id}; docs/rules.md explains each. Save and close to apply.\n")
        handle.write(yaml.safe_dump(rules, sort_keys=False))
    try:
        done = subprocess.run([*shlex.split(editor, posix=os.name != "nt"), name], check=False)
    except OSError as exc:
        _discard(name)
        raise Refused(f"cannot start the editor {editor!r}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        _discard(name)
        raise Refused(f"the editor exited with code {done.returncode}: nothing was changed")
    with open(name, encoding="utf-8") as handle:
        text = handle.read()
    try:
        data = _parse_yaml(text, name)
    except Refused as exc:
        raise Refused(f"{exc.message} (fix it, then give it with --file {name})") from None
    if not isinstance(data, dict):
        raise Refused(f"{name}: expected the rules as a mapping (sizing:, symbols:, ...)")
    return data, name


def _discard(name: str | None) -> None:
    if name is not None:
        import os

        with contextlib.suppress(OSError):
            os.unlink(name)


def _changed_rules(before: Any, after: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``(sizing.multiplier, 0.5)`` for each rule that differs; a group that appears or goes (a
    risk limit set or cleared) is one entry with the whole group."""
    if isinstance(before, dict) and isinstance(after, dict):
        changed = []
        for key in dict.fromkeys([*before, *after]):
            changed += _changed_rules(before.get(key), after.get(key), f"{prefix}.{key}" if prefix else str(key))
        return changed
    return [] if before == after else [(prefix, after)]


def rule_differences(before: dict, after: dict) -> list[str]:
    """``sizing.multiplier: 1.0 -> 0.5`` for each rule that changed."""
    def old(key: str) -> Any:
        value: Any = before
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    return [f"{key}: {_shown(old(key))} -> {_shown(new)}" for key, new in _changed_rules(before, after)]


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


_COMMANDS = {
    "list": _list,
    "show": _show,
    "link": _link,
    "remove": _remove,
    "set-master": _set_master,
    "rules show": _rules_show,
    "rules edit": _rules_edit,
}
