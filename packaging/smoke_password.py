"""Stores (or deletes) a made-up password for the terminal account in smoke-mt5-settings.json.

The no-terminal check links a master to a MetaTrader 5 terminal that is not installed. The app
reads the account's password from the system keyring before it calls ``initialize()``, so the
smoke tests store one first, under the same key the app uses, with the Python that will run the
check (the Windows one under Wine, the release venv on Windows):

    python packaging/smoke_password.py store packaging/smoke-mt5-settings.json
    python packaging/smoke_password.py delete packaging/smoke-mt5-settings.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# The repository, so the key is copier_gui's own, however copier_gui names its entries.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copier_gui import secrets  # noqa: E402

PASSWORD = "smoke-test-not-a-real-password"


def terminal_account_key(settings_file: Path) -> str:
    accounts = json.loads(settings_file.read_text(encoding="utf-8"))["accounts"]
    account = next(a for a in accounts if a["platform"] == "mt5")
    return secrets.password_key(login=account.get("login"), server=account.get("server"),
                                account_id=account["id"])


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("store", "delete"):
        print(__doc__, file=sys.stderr)
        return 2
    key = terminal_account_key(Path(argv[1]))
    if argv[0] == "store":
        secrets.store_password(key, PASSWORD)
        ok = secrets.get_password(key) == PASSWORD
    else:
        secrets.delete_password(key)
        ok = secrets.get_password(key) is None
    import keyring

    print(f"{argv[0]} {key!r} in {type(keyring.get_keyring()).__name__}: {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
