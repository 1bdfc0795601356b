"""``copier-gui worker-host --nats URL``: serve this computer's accounts to a core on another host.
Each account runs in a worker process as the core would start it here; the bus carries the same
messages the pipes would. The accounts come from this host's own settings file and keyring.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from copier_gui.paths import UserPaths

# The command line's "bad input" status; not imported from cli, which imports this module.
EXIT_BAD_INPUT = 2


_WORKER_PLATFORMS = ("mt5", "mt5_bridge")


class UsageError(Exception):
    """Bad input on the command line or in the settings file: one line, no traceback."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    host = sub.add_parser("worker-host", help="serve this computer's accounts to a copier on another host over NATS")
    host.add_argument("--nats", required=True, metavar="URL", help="the NATS server, e.g. tls://hub.example:4222")
    host.add_argument("--account", action="append", default=[], metavar="ID",
                      help="an account from this host's settings to serve (repeatable; default: all of them)")
    host.add_argument("--instance", default="copier", help="the copier's name on the bus (default copier)")
    host.add_argument("--nats-user", metavar="USER", help="the NATS user; its password is read from the keyring")
    host.add_argument("--nats-password-key", metavar="KEY",
                      help="the keyring entry holding the NATS user's password (default nats:USER)")
    host.add_argument("--nats-ca", metavar="PEM", help="the certificate authority to trust for the NATS server")
    host.add_argument("--nats-cert", metavar="PEM", help="a client certificate, where the server asks for one")
    host.add_argument("--nats-key", metavar="PEM", help="the client certificate's private key")
    host.add_argument("--nats-domain", metavar="NAME",
                      help="the hub's JetStream domain, where this host connects to a leaf node that runs a "
                           "JetStream of its own (the same as ?domain=NAME on the --nats URL)")
    host.add_argument("--store-nats-password", action="store_true",
                      help="ask for the NATS user's password, keep it in the keyring, and exit")
    # Simulated terminals behind a bridge (tests, demonstrations): ID terminals on HOST:PORT.
    host.add_argument("--sim-bridge", metavar="HOST:PORT", help=argparse.SUPPRESS)
    host.add_argument("--heartbeat-s", type=float, default=1.0, help=argparse.SUPPRESS)


def nats_options(args: argparse.Namespace):
    from copier_gui.workers.nats_transport import NatsOptions

    key = args.nats_password_key or (f"nats:{args.nats_user}" if args.nats_user else None)
    return NatsOptions(args.nats, instance=args.instance, user=args.nats_user, password_key=key, ca=args.nats_ca,
                       cert=args.nats_cert, key=args.nats_key, jetstream_domain=args.nats_domain)


def _configs(paths: UserPaths, args: argparse.Namespace) -> list:
    import dataclasses

    from copier_gui.workers.config import BridgeTerminal, WorkerConfig

    if args.sim_bridge:
        host, _, port = args.sim_bridge.rpartition(":")
        if not args.account:
            raise UsageError("--sim-bridge needs the --account ids of its terminals")
        return [WorkerConfig(account, BridgeTerminal(host or "127.0.0.1", int(port), terminal=account),
                             poll_idle_s=0.02, heartbeat_s=args.heartbeat_s) for account in args.account]

    from copier_gui.runtime import RuntimeSetupError, worker_config
    from copier_gui.settings import SettingsError, load_settings

    try:
        settings = load_settings(paths.settings_file, backups_dir=paths.backups_dir)
    except SettingsError as exc:
        raise UsageError(exc.message) from None
    accounts = {a.id: a for a in settings.accounts}
    unknown = [a for a in args.account if a not in accounts]
    if unknown:
        raise UsageError(f"{', '.join(unknown)}: not linked in {paths.settings_file} (see `copier-gui accounts list`)")
    if not accounts:
        raise UsageError(f"no accounts are linked in {paths.settings_file}: link them with `copier-gui accounts link`")
    # Only terminal accounts run in a worker; cTrader and demo accounts run inside the copier itself.
    for account_id in args.account:
        account = accounts[account_id]
        if account.platform not in _WORKER_PLATFORMS:
            raise UsageError(f"{account_id}: a {account.platform} account runs inside the copier, not in a "
                             "worker: a worker host serves mt5 and mt5_bridge accounts only")
    chosen = ([accounts[a] for a in args.account] if args.account
              else [a for a in accounts.values() if a.platform in _WORKER_PLATFORMS])
    if not chosen:
        raise UsageError(f"none of the accounts linked in {paths.settings_file} runs in a worker: a worker host "
                         "serves mt5 or mt5_bridge accounts")
    configs = []
    for account in chosen:
        try:
            # The same worker the core would start here, password key and all.
            config = worker_config(account, poll_s=0.005)
        except RuntimeSetupError as exc:
            raise UsageError(str(exc)) from None
        configs.append(dataclasses.replace(config, heartbeat_s=args.heartbeat_s))
    return configs


def _store_password(options) -> int:
    import getpass

    from copier_gui.secrets import SecretsUnavailable, store_secret

    if not options.user:
        raise UsageError("--store-nats-password needs --nats-user")
    password = getpass.getpass(f"NATS password for {options.user}: ")
    if not password:
        raise UsageError("no password given; nothing stored")
    try:
        store_secret(options.password_key, password, what="NATS password")
    except SecretsUnavailable as exc:
        raise UsageError(exc.message) from None
    print(f"the NATS password for {options.user} is in the keyring as {options.password_key}")
    return 0


def run(paths: UserPaths, args: argparse.Namespace) -> int:
    from copier_gui.stop_signals import StopSignals
    from copier_gui.workers.nats_host import WorkerHostServer, local_spawn
    from copier_gui.workers.nats_transport import NatsSetupError

    try:
        options = nats_options(args)
        if args.store_nats_password:
            return _store_password(options)
        server = WorkerHostServer(options, _configs(paths, args), local_spawn())
    except (NatsSetupError, UsageError) as exc:
        print(f"copier-gui: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

    async def serve() -> None:
        # Ctrl-C, a service stop, a closed SSH session; on Windows Ctrl-Break and a closed console
        # too: each ends the workers in order instead of cutting them off mid-order.
        signals = StopSignals(asyncio.get_running_loop(), lambda why: server.stop())
        signals.install()
        try:
            await server.run()
        finally:
            signals.stopped()
            signals.remove()

    try:
        asyncio.run(serve())
    except (ConnectionError, NatsSetupError) as exc:
        print(f"copier-gui: error: {exc}", file=sys.stderr)
        return 1
    return 0
