"""``copier-gui worker-host``: what it refuses before it reaches the bus, and keeping the NATS
password in the keyring."""

from __future__ import annotations

import getpass

import pytest

from copier_gui.cli import EXIT_BAD_INPUT, main
from copier_gui.secrets import get_secret


@pytest.mark.parametrize(("args", "words"), [
    (["--nats", "nats://hub.example:4222", "--nats-user", "desk"], "needs TLS"),
    (["--nats", "tls://hub.example:4222"], "needs credentials"),
    (["--nats", "tls://desk:pw@hub.example:4222"], "put no user or password in the URL"),
    (["--nats", "tls://127.0.0.1:4222", "--account", "nobody"], "nobody: not linked in"),
    (["--nats", "tls://127.0.0.1:4222", "--instance", "a.b"], "instance name"),
])
def test_bad_worker_host_options_exit_2_with_one_line(args, words, capsys, tmp_path):
    assert main(["--home", str(tmp_path), "worker-host", *args]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("copier-gui: error: ") and words in err and err.count("\n") == 1


def test_the_nats_password_is_asked_for_and_kept_in_the_keyring(capsys, monkeypatch):
    monkeypatch.setattr(getpass, "getpass", lambda prompt: "hub-pa55")
    assert main(["worker-host", "--nats", "tls://hub.example:4222", "--nats-user", "desk",
                 "--store-nats-password"]) == 0
    assert get_secret("nats:desk") == "hub-pa55"
    assert "hub-pa55" not in capsys.readouterr().out
