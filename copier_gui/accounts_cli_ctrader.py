"""``copier-gui accounts link ID --platform ctrader``: a cTrader account linked from a terminal.

The Open API application's secret comes from a prompt or the first line of piped standard input,
never from the command line. The trader signs in in the browser (or pastes a playground token
pair with ``--paste-token``), the token's accounts are listed, and one is chosen by ``--login``
or ``--ctid-account`` or, at a terminal, by its number in the list. The secret and the pair go
to the keyring; the settings keep only their keyring names.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import webbrowser
from typing import TYPE_CHECKING

from copier_gui.accounts_cli import (
    CTRADER_BROWSER_TIMEOUT_S,
    Refused,
    _changing,
    _KeyringChange,
    _problems,
    _read_secret,
    _save,
)

if TYPE_CHECKING:
    from copier_gui.ctrader_auth import Endpoints, LinkableAccount
    from copier_gui.paths import UserPaths
    from copier_gui.settings import AccountSettings, Settings

__all__ = ["endpoints", "link"]


def endpoints() -> Endpoints:
    """Where the sign-in and the Open API are: Spotware's (a test points this at simulated ones)."""
    from copier_gui.ctrader_auth import DEFAULT_ENDPOINTS

    return DEFAULT_ENDPOINTS


def _open_browser(url: str) -> bool:
    return webbrowser.open(url)  # looked up at each call, so a test's browser stands in


def link(paths: UserPaths, args: argparse.Namespace) -> int:
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
    with _changing(paths) as current:
        _check_id_and_role(args, current)
        secret = _read_secret(f"Secret of the Open API application {client_id}: ", "application secret")
        problem = ctrader_auth.client_secret_problem(secret)
        if problem:
            raise Refused(problem)
        credentials = AppCredentials(client_id, secret.strip())
        del secret
        pasted = _read_pasted() if args.paste_token else None
        tokens, accounts = asyncio.run(_authorize(credentials, pasted, args))
        chosen = _choose(accounts, args)
        key = ctrader_auth.token_key(client_id, [a.account_id for a in accounts], current.accounts)
        account = _settings(args, current, chosen, client_id, key)
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
            _save(paths, updated)
        except Refused:
            for change in changes:
                change.undo()
            raise
    _report(account, chosen, key)
    return 0


def _check_id_and_role(args: argparse.Namespace, current: Settings) -> None:
    from copier_gui import account_setup as setup

    problem = setup.account_id_problem(args.id, {a.id for a in current.accounts})
    if problem:
        raise Refused(problem)
    problem = setup.master_problem(args.role, current.master.id if current.master is not None else None)
    if problem:
        raise Refused(f"{problem}, then make it the master with `copier-gui accounts set-master "
                      f"{args.id}` (the old master becomes a slave)")
    if args.login is not None and (not args.login.strip().isdigit() or not args.login.strip().isascii()):
        raise Refused(f"--login {args.login}: the number cTrader shows for the account")


def _read_pasted() -> tuple[str, str]:
    access = _read_secret("Access token (from the playground): ", "access token")
    refresh = _read_secret("Refresh token: ", "refresh token")
    return access, refresh


async def _authorize(credentials, pasted: tuple[str, str] | None, args: argparse.Namespace):
    from copier_gui import ctrader_auth

    where = endpoints()
    try:
        if pasted is not None:
            tokens = ctrader_auth.pasted_tokens(*pasted)
        else:
            flow = ctrader_auth.BrowserAuthorization(credentials, endpoints=where, opener=_open_browser,
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


def _choose(accounts: list[LinkableAccount], args: argparse.Namespace) -> LinkableAccount:
    candidates = list(accounts)
    if args.live or args.demo_server:
        candidates = [a for a in candidates if a.is_live == bool(args.live)]
    if args.ctid_account is not None:
        candidates = [a for a in candidates if a.account_id == args.ctid_account]
    if args.login is not None:
        candidates = [a for a in candidates if a.login == int(args.login)]
    if len(candidates) == 1:
        return candidates[0]
    listing = "\n".join(f"  {n}. {_line(a)}" for n, a in enumerate(accounts, 1))
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
        print(f"  {n}. {_line(account)}")
    answer = input(f"link which one (1-{len(shown)})? ").strip()
    if not answer.isdigit() or not 1 <= int(answer) <= len(shown):
        raise Refused(f"{answer!r} is not one of 1 to {len(shown)}. Nothing was linked.")
    return shown[int(answer) - 1]


def _line(account: LinkableAccount) -> str:
    balance = f", balance {account.balance:,.2f}" if account.balance is not None else ""
    return (f"login {account.login} at {account.broker_name or account.broker}, {account.kind}, "
            f"{account.account_type or 'hedged/netted unknown'}{balance} "
            f"(ctidTraderAccountId {account.account_id})")


def _settings(args: argparse.Namespace, current: Settings, chosen: LinkableAccount, client_id: str,
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


def _report(account: AccountSettings, chosen: LinkableAccount, key: str) -> None:
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
