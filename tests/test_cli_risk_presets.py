"""``copier-gui risk presets`` and ``risk use-preset``: a preset copied into a slave's rules, then edited."""

from __future__ import annotations

from copier_gui.cli import main
from copier_gui.settings import AccountSettings, Settings, load_settings, save_settings


def _linked(home):
    home.mkdir(parents=True, exist_ok=True)
    save_settings(Settings(accounts=[
        AccountSettings(id="m", role="master", platform="demo", demo_profile="meridian_ecn"),
        AccountSettings(id="s", role="slave", platform="demo", demo_profile="harbor_fx")]), home / "settings.json")


def test_presets_lists_each_with_its_source_and_the_generic_names(tmp_path, capsys):
    assert main(["--home", str(tmp_path), "risk", "presets"]) == 0
    out = capsys.readouterr().out
    assert "ftmo_2step_challenge: FTMO" in out and "https://ftmo.com/en/trading-objectives" in out
    assert "two_step_challenge" in out


def test_use_preset_writes_the_slave_rules_which_then_edit_like_any(tmp_path, capsys):
    _linked(tmp_path)
    assert main(["--home", str(tmp_path), "risk", "use-preset", "s", "ftmo_2step_challenge"]) == 0
    prop = load_settings(tmp_path / "settings.json").account("s").copy_rules.risk.prop
    assert str(prop.reset) == "00:00 Europe/Prague" and prop.daily_loss.percent == 5
    assert main(["--home", str(tmp_path), "accounts", "rules", "edit", "s",
                 "--set", "risk.prop.daily_loss.percent=4"]) == 0
    prop = load_settings(tmp_path / "settings.json").account("s").copy_rules.risk.prop
    assert prop.daily_loss.percent == 4 and prop.max_loss.percent == 10


def test_the_generic_preset_names_keep_working(tmp_path):
    _linked(tmp_path)
    assert main(["--home", str(tmp_path), "risk", "use-preset", "s", "two_step_challenge"]) == 0
    risk = load_settings(tmp_path / "settings.json").account("s").copy_rules.risk
    assert risk.daily_loss_percent.value == 5 and risk.max_open_positions.value == 20


def test_unknown_preset_or_master_is_one_line_and_nothing_written(tmp_path, capsys):
    _linked(tmp_path)
    before = (tmp_path / "settings.json").read_bytes()
    assert main(["--home", str(tmp_path), "risk", "use-preset", "s", "nope"]) == 2
    assert "no preset 'nope'" in capsys.readouterr().err
    assert main(["--home", str(tmp_path), "risk", "use-preset", "m", "ftmo_2step_challenge"]) == 2
    assert "master" in capsys.readouterr().err
    assert (tmp_path / "settings.json").read_bytes() == before
