"""``--http`` and ``http-token`` on the command line: bad values are one line and exit 2."""

from __future__ import annotations

import pytest

from copier_gui.cli import EXIT_BAD_INPUT, main


@pytest.mark.parametrize(("args", "words"), [
    (["--http", "9464"], "--http: '9464' has no port"),
    (["--http", "127.0.0.1:99999"], "--http: port 99999 is out of range"),
    (["--http", "0.0.0.0:9464"], "served over TLS only"),
    (["--http", "[::]:9464", "--http-cert", "c.pem"], "go together"),
    (["--http-cert", "c.pem", "--http-key", "k.pem"], "give the address too"),
    (["--http", "0.0.0.0:9464", "--http-cert", "c.pem", "--http-key", "k.pem"], "the TLS certificate file c.pem does not exist"),
])
def test_bad_http_options_exit_2_with_one_line(args, words, capsys, tmp_path):
    assert main(["--home", str(tmp_path), "--demo", "--headless", "--duration", "0", *args]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("copier-gui: error: ") and words in err and err.count("\n") == 1
    assert not (tmp_path / "copier_gui.lock").exists()  # refused before anything started


def test_http_token_is_made_once_and_renewed_on_request(capsys):
    assert main(["http-token"]) == 0
    first = capsys.readouterr().out.strip()
    assert main(["http-token"]) == 0
    assert capsys.readouterr().out.strip() == first
    assert main(["http-token", "--renew"]) == 0
    renewed = capsys.readouterr().out.strip()
    assert renewed != first and len(renewed) >= 40
    assert main(["http-token"]) == 0
    assert capsys.readouterr().out.strip() == renewed
