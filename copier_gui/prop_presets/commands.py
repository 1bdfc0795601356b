"""``copier-gui risk presets`` lists the prop-firm presets with their sources; ``risk use-preset
SLAVE PRESET`` copies one into a slave's risk rules, which the trader then edits like any rules
(``copier-gui accounts rules edit SLAVE --set risk.prop.daily_loss.percent=4``)."""

from __future__ import annotations

import argparse
import sys

from copier_gui.core.rules import PROP_PRESETS, Risk


def add_actions(risk_sub) -> None:
    risk_sub.add_parser("presets", help="list the prop-firm presets, with the firm's rules and where they were read")
    use = risk_sub.add_parser("use-preset", help="copy a preset into a slave's risk rules, to edit like any rules")
    use.add_argument("account", help="the slave's account id")
    use.add_argument("preset", help="a preset id, as `risk presets` lists it")


class UsageError(Exception):
    """Bad input: one line on standard error, exit code 2."""


def run(paths, args: argparse.Namespace) -> int:
    try:
        return _run(paths, args)
    except UsageError as exc:
        print(f"copier-gui: error: {exc}", file=sys.stderr)
        return 2


def _run(paths, args: argparse.Namespace) -> int:
    from copier_gui.accounts_cli import (
        Refused,
        changing_settings,
        rule_differences,
        save_user_settings,
        slave_account,
    )
    from copier_gui.prop_presets.loader import PresetError, presets, risk_block

    try:
        shipped = presets()
    except PresetError as exc:
        raise UsageError(exc.message) from None
    if args.risk_command == "presets":
        for p in shipped.values():
            print(f"{p.id}: {p.firm}, {p.program} ({p.phase}); read {p.source.read_on} from {p.source.url}")
            for line in p.notes:
                print(f"    note: {line}")
        for name in sorted(PROP_PRESETS):
            print(f"{name}: a generic shape (no firm's text), set with risk.preset: {name}")
        return 0
    if args.preset in shipped:
        block, where = risk_block(shipped[args.preset]), f"{args.preset} (read {shipped[args.preset].source.read_on})"
    elif args.preset in PROP_PRESETS:
        # The generic names keep working: copied as the explicit limits they stand for, to edit.
        block = Risk(preset=args.preset).model_dump(mode="json", exclude_none=True)
        block.pop("preset")
        where = args.preset
    else:
        known = ", ".join([*shipped, *sorted(PROP_PRESETS)])
        raise UsageError(f"no preset {args.preset!r}; known: {known}")
    try:
        with changing_settings(paths) as current:
            account = slave_account(current, args.account)
            before = account.copy_rules.model_dump(mode="json")
            rules = account.copy_rules.model_copy(update={"risk": Risk.model_validate(block)})
            save_user_settings(paths, current.with_account(account.model_copy(update={"rules": rules})))
    except Refused as exc:
        raise UsageError(exc.message) from None
    print(f"risk rules of {account.id} replaced by the preset {where}:")
    for line in rule_differences(before, rules.model_dump(mode="json")):
        print(f"  {line}")
    print(f"edit them like any rules: copier-gui accounts rules edit {account.id} --set KEY=VALUE")
    return 0
