"""The ``copier-gui`` command line: parses arguments and hands off to the right mode.

Errors in what the user gave (a bad scenario, a bad setting, a missing file) print one clear line
and exit with code 2; nothing is written. A traceback is never the answer to bad input. The window
and headless mode take the user folder's lock first: a second copier on a folder exits with code 3
(``EXIT_ALREADY_RUNNING``), a second window after bringing the running one forward. Commands that
only read the folder (``journal info``, ``journal export``, ``report``) and ``journal archive`` run beside a
copier.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

from copier_gui import __version__
from copier_gui.console_out import silence

EXIT_BAD_INPUT = 2
# As a shell reports a program SIGPIPE ended (128 + 13).
EXIT_BROKEN_PIPE = 141


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copier-gui",
        description="Mirror a master MetaTrader 5 account to many slaves and measure the drift.",
    )
    parser.add_argument("--version", action="version", version=f"copier-gui {__version__}")
    parser.add_argument("--home", metavar="DIR",
                        help="folder for settings, journal and logs (default: the user data folder; "
                             "the COPIER_GUI_HOME environment variable also sets it)")
    parser.add_argument("--demo", action="store_true", help="run on simulated brokers with an automated master")
    parser.add_argument("--headless", action="store_true", help="no window: print copies and a drift summary")
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this many seconds")
    # For screenshots, smoke tests and benchmarks; not part of the everyday interface.
    parser.add_argument("--screenshot", metavar="PNG", help=argparse.SUPPRESS)
    parser.add_argument("--theme", choices=("auto", "light", "dark"), default="auto", help=argparse.SUPPRESS)
    parser.add_argument("--trade-interval", type=float, default=2.0, metavar="SECONDS", help=argparse.SUPPRESS)
    parser.add_argument("--slaves", type=int, default=3, metavar="N", help="simulated slaves in the demo (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the demo's market and strategy")
    parser.add_argument("--poll-ms", type=float, default=5.0, metavar="MS", help="master poll interval (default 5)")
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info",
                        help="what the window and headless mode write to logs/copier_gui.log in the user "
                             "folder (default info)")
    parser.add_argument("--http", metavar="HOST:PORT",
                        help="serve Prometheus metrics and a status page, e.g. 127.0.0.1:9464 (off by default; "
                             "any address but loopback needs --http-cert, --http-key and the access token)")
    parser.add_argument("--http-cert", metavar="PEM", help="TLS certificate for --http on a non-loopback address")
    parser.add_argument("--http-key", metavar="PEM", help="the certificate's private key, for --http-cert")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    replay = sub.add_parser("replay", help="run a scenario on virtual time and write a report")
    replay.add_argument("scenario", help="scenario file (YAML or JSON)")
    replay.add_argument("--out", metavar="REPORT.json", help="where to write the report (JSON)")
    replay.add_argument("--html", metavar="REPORT.html", help="also write each slave's drift as an HTML page")
    replay.add_argument("--compare", nargs=2, metavar=("RULES_A", "RULES_B"),
                        help="what-if: replay the same market and master twice, one slave under the copy rules "
                             "in RULES_A, then RULES_B (YAML or JSON), and print its drift side by side")
    replay.add_argument("--slave", metavar="ID", help="the slave --compare changes (needed when there are several)")

    sub.add_parser("scenario-schema", help="print the JSON Schema of scenario files")

    from copier_gui.journal_commands import add_parsers as add_journal_parsers

    journal = sub.add_parser("journal", help="the journal: its size, archiving old entries, export")
    add_journal_parsers(journal.add_subparsers(dest="journal_command", metavar="ACTION", required=True))

    risk = sub.add_parser("risk", help="show or reset the slaves' risk state (day-start figures, peak, halts)")
    risk_sub = risk.add_subparsers(dest="risk_command", metavar="ACTION", required=True)
    risk_sub.add_parser("show", help="print each slave's risk state")
    reset = risk_sub.add_parser("reset", help="lift a slave's risk halt; a running copier applies it on its next pass")
    reset.add_argument("account", help="the slave's account id, as `risk show` lists it")
    from copier_gui.prop_presets.commands import add_actions as add_preset_actions

    add_preset_actions(risk_sub)

    from copier_gui.alerts.commands import add_parser as add_alerts_parser

    add_alerts_parser(sub)

    from copier_gui import accounts_cli

    accounts_cli.add_parser(sub)

    from copier_gui.reports.commands import add_parser as add_report_parser

    add_report_parser(sub)

    from copier_gui import worker_host_cli

    worker_host_cli.add_parser(sub)

    http_token = sub.add_parser("http-token", help="print the access token --http needs on a non-loopback address")
    http_token.add_argument("--renew", action="store_true", help="replace it: links and scrapers using it stop working")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    from copier_gui.core.copybook import CopyBookError
    from copier_gui.core.journal_schema import JournalError

    try:
        return _dispatch(parser, parser.parse_args(argv))  # --help prints from parse_args
    except UsageError as exc:
        print(f"copier-gui: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (JournalError, CopyBookError) as exc:
        # A damaged or newer file: one line naming it, and nothing overwritten.
        print(f"copier-gui: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader of what a command prints went away (`copier-gui journal export ... | head`): end
        # quietly, as a Unix tool killed by SIGPIPE does, with that status.
        silence(sys.stdout)
        return EXIT_BROKEN_PIPE


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from copier_gui.paths import user_paths

    paths = user_paths(args.home)
    if args.command == "replay":
        return _replay(args)
    if args.command == "scenario-schema":
        import json

        from copier_gui.replay.scenario import scenario_json_schema

        print(json.dumps(scenario_json_schema(), indent=2))
        return 0
    if args.command == "risk" and args.risk_command in ("presets", "use-preset"):
        from copier_gui.prop_presets import commands as preset_commands

        return preset_commands.run(paths, args)
    if args.command == "risk":
        return _risk(paths, args)
    if args.command == "accounts":
        from copier_gui import accounts_cli

        return accounts_cli.run(paths, args)
    if args.command == "alerts":
        from copier_gui.alerts.commands import run_alerts
        from copier_gui.settings import load_settings, save_settings

        return run_alerts(args, load=lambda: load_settings(paths.settings_file, backups_dir=paths.backups_dir),
                          save=lambda settings: save_settings(settings, paths.settings_file))
    if args.command == "journal":
        from copier_gui import journal_commands

        return journal_commands.run(paths, args)
    if args.command == "report":
        from copier_gui.reports import commands as report_commands

        return report_commands.run(paths, args)
    if args.command == "http-token":
        return _http_token(args.renew)
    if args.command == "worker-host":
        from copier_gui import worker_host_cli

        return worker_host_cli.run(paths, args)
    if args.slaves < 1:
        raise UsageError(f"--slaves must be at least 1, not {args.slaves}")
    if args.duration is not None and args.duration < 0:
        raise UsageError(f"--duration must not be negative, not {args.duration}")
    if args.poll_ms <= 0:
        raise UsageError(f"--poll-ms must be positive, not {args.poll_ms}")
    if args.trade_interval <= 0:
        raise UsageError(f"--trade-interval must be positive, not {args.trade_interval}")
    if args.http is not None or args.http_cert is not None or args.http_key is not None:
        _check_http(args)
    if args.headless:
        return _headless(args, paths)
    return _gui(args, paths)


def _headless(args: argparse.Namespace, paths) -> int:
    """The copier without a window: the demo's accounts with --demo, else the linked ones."""
    from copier_gui import instance
    from copier_gui.runtime import RuntimeSetupError
    from copier_gui.watchers import watcher_factories

    settings = _demo_watch_settings(paths) if args.demo else _linked_settings(paths)
    try:
        lock = instance.InstanceLock(paths).acquire()
    except instance.AlreadyRunning as exc:
        print(f"copier-gui: {exc.message}", file=sys.stderr)
        return instance.EXIT_ALREADY_RUNNING
    except instance.FolderUnusable as exc:
        raise UsageError(exc.message) from None
    services = watcher_factories(settings, http=_http_options(args))
    with lock, _logging(paths, args.log_level, "headless demo" if args.demo else "headless"):
        try:
            if args.demo:
                from copier_gui.demo.headless import run_demo_headless

                asyncio.run(run_demo_headless(slaves=args.slaves, duration=args.duration, paths=paths,
                                              seed=args.seed, poll_interval_s=args.poll_ms / 1000.0,
                                              strategy_interval_s=args.trade_interval, services=services))
            else:
                from copier_gui.headless import run_linked_headless

                asyncio.run(run_linked_headless(settings, paths, duration=args.duration, services=services))
        except RuntimeSetupError as exc:
            # Nothing started: a damaged file, an account that cannot run here; one line says which.
            raise UsageError(exc.message) from None
    return 0


def _demo_watch_settings(paths):
    """The demo's accounts are generated, but alerts set up in the folder's settings still apply,
    so a trader can try them on the demo; a settings file that cannot be read only costs them."""
    from copier_gui.settings import SettingsError, load_settings

    if not paths.settings_file.is_file():
        return None
    try:
        return load_settings(paths.settings_file, backups_dir=paths.backups_dir)
    except SettingsError as exc:
        print(f"copier-gui: alerts are off for this demo run: {exc.message}", file=sys.stderr)
        return None


def _linked_settings(paths):
    """The settings file's accounts, or UsageError naming the file and the field."""
    from copier_gui.settings import SettingsError, load_settings

    try:
        settings = load_settings(paths.settings_file, backups_dir=paths.backups_dir)
    except SettingsError as exc:
        raise UsageError(exc.message) from None
    if not settings.accounts:
        raise UsageError(f"no accounts are linked in {paths.settings_file}: link a master and at least one "
                         "slave with `copier-gui accounts link` (or in the window), or try --demo --headless")
    return settings


def _http_options(args: argparse.Namespace):
    from copier_gui.watchers import HttpOptions

    return HttpOptions(args.http, args.http_cert, args.http_key) if args.http is not None else None


def _check_http(args: argparse.Namespace) -> None:
    from copier_gui.monitor.service import check_options

    if args.http is None:
        raise UsageError("--http-cert and --http-key are for --http HOST:PORT; give the address too")
    try:
        check_options(args.http, args.http_cert, args.http_key)
    except ValueError as exc:
        raise UsageError(f"--http: {exc}") from None


def _http_token(renew: bool) -> int:
    from copier_gui.monitor.access import ensure_token, renew_token
    from copier_gui.secrets import SecretsUnavailable

    try:
        token = renew_token() if renew else ensure_token()[0]
    except SecretsUnavailable as exc:
        raise UsageError(exc.message) from None
    print(token)
    return 0


def _gui(args: argparse.Namespace, paths) -> int:
    import os

    # Without a display Qt aborts the process with a message about plugins; say what to do instead.
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                                                 or os.environ.get("QT_QPA_PLATFORM")):
        raise UsageError("no display to open the window on: run it in a desktop session, "
                         "or use --demo --headless")
    import functools

    from copier_gui import instance
    from copier_gui.demo.session import demo_session
    from copier_gui.ui.app import GuiOptions, run_gui
    from copier_gui.ui.instance import raise_running_window

    try:
        lock = instance.InstanceLock(paths).acquire()
    except instance.AlreadyRunning as exc:
        if raise_running_window(paths):
            print(f"copier-gui: {exc.message}; its window was brought to the front", file=sys.stderr)
        else:  # a headless copier has no window to show
            print(f"copier-gui: {exc.message}", file=sys.stderr)
        return instance.EXIT_ALREADY_RUNNING
    except instance.FolderUnusable as exc:
        raise UsageError(exc.message) from None

    screenshot = Path(args.screenshot) if args.screenshot else None
    duration = args.duration if args.duration is not None or screenshot is None else 12.0
    # The window offers the demo on its welcome page too, so it gets the factory either way. The
    # demo's terminals run in worker processes, through the same path as real terminals.
    from copier_gui.watchers import watcher_factories

    demo = functools.partial(demo_session, args.slaves, paths, seed=args.seed, poll_interval_s=args.poll_ms / 1000.0,
                             strategy_interval_s=args.trade_interval, workers=True,
                             services=watcher_factories(None, http=_http_options(args)))
    with lock, _logging(paths, args.log_level, "window"):
        return run_gui(paths, GuiOptions(demo=args.demo, duration=duration, screenshot=screenshot, theme=args.theme,
                                         http=_http_options(args)),
                       demo)


@contextlib.contextmanager
def _logging(paths, level: str, mode: str):
    """The process's log file for as long as it copies; taken after the folder's lock, so one
    copier writes it at a time."""
    import logging

    from copier_gui.logs import configure_logging

    setup = configure_logging(paths, level)
    log = logging.getLogger("copier_gui")
    log.info("copier_gui %s started (%s, user folder %s)", __version__, mode, paths.root)
    try:
        yield setup
    finally:
        log.info("copier_gui stopped")
        setup.close()


def _replay(args: argparse.Namespace) -> int:
    from copier_gui.replay.report import report_bytes
    from copier_gui.replay.scenario import ScenarioError, load_scenario

    if args.compare is None and args.slave is not None:
        raise UsageError("--slave chooses the slave of a comparison: give --compare RULES_A RULES_B too")
    if args.compare is None and args.out is None and args.html is None:
        raise UsageError("replay needs --out REPORT.json or --html REPORT.html to write its report to, "
                         "or --compare RULES_A RULES_B")
    try:
        scenario = load_scenario(args.scenario)
        if args.compare is not None:
            from copier_gui.replay.compare import compare
            from copier_gui.replay.pages import comparison_page

            comparison = compare(scenario, *args.compare, slave=args.slave, scenario_name=args.scenario)
            report, page = comparison.as_json(), (lambda: comparison_page(comparison))
            print(comparison.table(), end="")
        else:
            from copier_gui.replay.pages import replay_page
            from copier_gui.replay.runner import play

            replay = play(scenario)
            report, page = replay.report, (lambda: replay_page(replay, args.scenario))
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    if args.out is not None:
        _write_report(Path(args.out), report_bytes(report))
    if args.html is not None:
        _write_report(Path(args.html), page().encode("utf-8"))
    return 0


def _write_report(out: Path, content: bytes) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(content)
    except OSError as exc:
        raise UsageError(f"cannot write the report to {out}: {exc.strerror}") from None
    print(f"report written to {out}")


def _risk(paths, args: argparse.Namespace) -> int:
    """Reads and edits the risk store directly, so it works whether or not a copier runs."""
    import datetime as dt

    from copier_gui.clock import SYSTEM_CLOCK
    from copier_gui.core.journal import Journal, JournalError
    from copier_gui.core.risk import describe_reset
    from copier_gui.core.riskstore import RISK_FILE, RiskStore, RiskStoreError

    path = paths.root / RISK_FILE
    if not path.exists():
        if args.risk_command == "show":
            print(f"no risk state yet in {paths.root}: the copier has not run there")
            return 0
        raise UsageError(f"no risk state at {path} yet: nothing to reset")
    try:
        store = RiskStore(path)
    except RiskStoreError as exc:
        raise UsageError(f"{exc.message}; starting the copier moves it aside (every slave then starts with new "
                         "entries stopped until you reset it)") from None
    try:
        if args.risk_command == "show":
            for r in store.records():
                day = dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + r.day).isoformat() if r.day is not None \
                    else "-"
                halt = (f"{r.halt.state} since {dt.datetime.fromtimestamp(r.halt.at, dt.UTC):%Y-%m-%d %H:%M:%S} UTC: "
                        f"{r.halt.text}" if r.halt else "not halted")
                print(f"{r.account}: day {day}, day-start balance {r.day_start_balance:,.2f}, equity "
                      f"{r.day_start_equity:,.2f}, peak equity {r.peak_equity:,.2f}; {halt}")
            return 0
        if store.load(args.account) is None:
            known = ", ".join(r.account for r in store.records()) or "none"
            raise UsageError(f"no risk state for account {args.account!r} (accounts with risk state: {known})")
        try:
            journal = Journal(paths.journal_file, SYSTEM_CLOCK, backups_dir=paths.backups_dir)
        except JournalError as exc:
            raise UsageError(f"nothing reset: {exc}") from None
        with journal:
            before = store.reset(args.account, at=SYSTEM_CLOCK.time(), by="the command line")
            text = f"risk reset for {args.account} by the command line: {describe_reset(before)}"
            journal.record("state", text, account=args.account, risk_reset=True,
                           halt_limit=before.halt.limit if before.halt else None,
                           halt_text=before.halt.text if before.halt else None,
                           day_start_balance=before.day_start_balance, peak_equity=before.peak_equity)
        print(text)
        print("a running copier applies it on its next pass (within a few seconds)")
        return 0
    except RiskStoreError as exc:
        raise UsageError(exc.message) from None
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
