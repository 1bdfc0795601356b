"""Scenario files: the schema, the cross-field checks, and one clear error per kind of bad input."""

from __future__ import annotations

import copy
import datetime as _dt
import json
import textwrap

import pytest
import yaml

from copier_gui.core.model import PendingKind, Side
from copier_gui.core.rules import CopyRules, SizingMode
from copier_gui.replay.scenario import (
    DEFAULT_START,
    TAIL_SECONDS,
    CopierCrashFault,
    OpenAction,
    PlacePendingAction,
    RejectFault,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
    scenario_json_schema,
)
from copier_gui.sim import new_terminal
from copier_gui.sim.faults import INJECTABLE_REJECTIONS

GOOD = textwrap.dedent("""\
    seed: 11
    brokers:
      ecn: {profile: meridian_ecn}
      harbor: {profile: harbor_fx}
    accounts:
      - {id: m, role: master, broker: ecn}
      - id: s1
        role: slave
        broker: harbor
        balance: 5000
        currency: GBP
        margin_mode: netting
        leverage: 50
        rules: {sizing: {mode: lot_multiplier, multiplier: 0.5}}
      - {id: s2, role: slave, broker: ecn, copy_enabled: false}
    timeline:
      - {at: 1, action: open, id: p1, symbol: EURUSD, side: buy, volume: 0.3, sl_points: 100}
      - {at: 2, action: modify, id: p1, sl_points: 0, tp_points: 250}
      - {at: 3, action: partial_close, id: p1, volume: 0.1}
      - {at: 4, action: close, id: p1}
      - {at: 5, action: place_pending, id: o1, symbol: XAUUSD, kind: sell_stop, volume: 0.2,
         offset_points: 400, expiration_s: 60}
      - {at: 6, action: modify_pending, id: o1, offset_points: 300}
      - {at: 7, action: cancel_pending, id: o1}
    faults:
      - {at: 1.5, kind: copier_crash, restart_after_ms: 1500}
      - {at: 2, kind: disconnect, account: s1, duration_ms: 5000}
      - {at: 2, kind: reject, account: s2, retcode: 10006}
      - {at: 3, kind: latency, account: m, median_ms: 250, duration_ms: 2000}
      - {at: 4, kind: requote, account: s1, count: 2}
    """)


@pytest.fixture
def good() -> dict:
    return yaml.safe_load(GOOD)


def write(tmp_path, text: str, name: str = "scenario.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problem(data: dict) -> str:
    """The message of the ScenarioError ``data`` raises, checked to be a single named problem."""
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, source="scenario.yaml")
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    assert message.startswith("scenario.yaml: "), message
    return message


# --------------------------------------------------------------------------------- happy path


def test_a_good_file_loads_with_every_field(tmp_path):
    scenario = load_scenario(write(tmp_path, GOOD))
    assert scenario.seed == 11
    assert scenario.start == DEFAULT_START and scenario.start.tzinfo is not None
    assert scenario.master.id == "m"
    assert [s.id for s in scenario.slaves] == ["s1", "s2"]
    s1 = scenario.account("s1")
    assert s1.rules.sizing.mode is SizingMode.LOT_MULTIPLIER and s1.rules.sizing.multiplier == 0.5
    assert scenario.account("s2").copy_enabled is False
    assert scenario.account("s2").rules == CopyRules()
    open_ = scenario.timeline[0]
    assert isinstance(open_, OpenAction) and open_.side is Side.BUY and open_.tp_points is None
    pending = scenario.timeline[4]
    assert isinstance(pending, PlacePendingAction) and pending.pending_kind is PendingKind.SELL_STOP
    assert isinstance(scenario.faults[0], CopierCrashFault)
    assert isinstance(scenario.faults[2], RejectFault) and scenario.faults[2].count == 1


def test_defaults(good):
    scenario = parse_scenario(good)
    assert scenario.poll_interval_ms == 5 and scenario.reconcile_interval_s == 2
    assert scenario.start == _dt.datetime(2026, 11, 25, 12, tzinfo=_dt.UTC)
    assert scenario.start.weekday() == 2  # a Wednesday: the simulated markets are open
    assert scenario.start_epoch == DEFAULT_START.timestamp()
    # The last event's end is the disconnect at 2 s lasting 5 s.
    assert scenario.duration_s == scenario.end_s == 7 + TAIL_SECONDS


def test_the_models_are_frozen(good):
    scenario = parse_scenario(good)
    with pytest.raises(Exception, match="frozen"):
        scenario.seed = 3  # type: ignore[misc]
    with pytest.raises(Exception, match="frozen"):
        scenario.timeline[0].volume = 1  # type: ignore[union-attr]


def test_json_files_load_too(tmp_path, good):
    path = write(tmp_path, json.dumps(good), "scenario.json")
    assert load_scenario(path) == parse_scenario(good)


def test_start_is_kept_in_utc(good):
    good["start"] = "2026-11-25T14:00:00+02:00"
    assert parse_scenario(good).start == DEFAULT_START
    good["start"] = "2026-11-25T12:00:00"  # no zone: read as UTC
    assert parse_scenario(good).start == DEFAULT_START


def test_timeline_order_is_by_time_then_as_listed(good):
    good["timeline"].insert(
        0,
        {
            "at": 4,
            "action": "open",
            "id": "late",
            "symbol": "GBPUSD",
            "side": "sell",
            "volume": 0.1,
        },
    )
    scenario = parse_scenario(good)
    order = [(i, a.id, a.at) for i, a in scenario.ordered_timeline()]
    assert [a for _, _, a in order] == sorted(a for _, _, a in order)
    assert order[3:5] == [(0, "late", 4), (4, "p1", 4)]


def test_terminal_overrides_build_a_terminal(good, weekday_clock):
    scenario = parse_scenario(good)
    overrides = scenario.terminal_overrides("s1")
    assert overrides == {
        "login": 1_000_002,
        "name": "s1",
        "balance": 5000,
        "currency": "GBP",
        "margin_mode": 0,
        "leverage": 50,
    }
    terminal = new_terminal(
        scenario.profile_of("s1"), seed=scenario.seed, clock=weekday_clock, **overrides
    )
    assert terminal.initialize()
    info = terminal.account_info()
    assert (info.login, info.currency, info.balance, info.leverage) == (1_000_002, "GBP", 5000, 50)
    logins = {scenario.terminal_overrides(a.id)["login"] for a in scenario.accounts}
    assert len(logins) == len(scenario.accounts)


def test_a_position_action_may_follow_a_pending_order_that_filled(good):
    good["timeline"][-1] = {"at": 20, "action": "close", "id": "o1"}
    assert parse_scenario(good).timeline[-1].action == "close"


def test_numeric_ids_are_read_as_names(good):
    good["timeline"] = [
        {"at": 1, "action": "open", "id": 7, "symbol": "EURUSD", "side": "sell", "volume": 1},
        {"at": 2, "action": "close", "id": "7"},
    ]
    assert parse_scenario(good).timeline[0].id == "7"


@pytest.mark.parametrize("retcode", INJECTABLE_REJECTIONS)
def test_every_rejection_of_the_table_can_be_forced(good, retcode):
    good["faults"][2]["retcode"] = retcode
    (fault,) = [f for f in parse_scenario(good).faults if isinstance(f, RejectFault)]
    assert fault.retcode == retcode
    assert {10024, 10027, 10031} <= set(INJECTABLE_REJECTIONS)


# ------------------------------------------------------------------------- one error per problem


def test_unknown_top_level_key(good):
    good["seeds"] = 3
    message = problem(good)
    assert message.startswith("scenario.yaml: seeds: unknown field (did you mean 'seed'?")


def test_unknown_nested_key(good):
    good["accounts"][1]["rules"]["sizing"]["bogus"] = 1
    message = problem(good)
    assert message.startswith("scenario.yaml: accounts[1].rules.sizing.bogus: unknown field")
    assert "allowed: lots, max_lot, min_lot, mode, multiplier" in message


def test_unknown_key_in_an_action_names_the_action(good):
    good["timeline"][0]["sidee"] = "buy"
    assert "timeline[0].sidee: unknown field (did you mean 'side'?" in problem(good)


def test_unknown_profile_lists_the_known_ones(good):
    good["brokers"]["harbor"]["profile"] = "harbour_fx"
    assert problem(good) == (
        "scenario.yaml: brokers.harbor.profile: unknown broker profile "
        "'harbour_fx' (known: apex_prop, harbor_fx, kestrel_netting, lumen_ctrader, meridian_ecn, "
        "summit_netting)"
    )


def test_a_ctrader_account_takes_its_currency_from_its_broker(good):
    good["brokers"]["harbor"]["profile"] = "kestrel_netting"
    harbor = next(a for a in good["accounts"] if a["broker"] == "harbor")
    harbor["currency"] = "USD"
    index = good["accounts"].index(harbor)
    assert problem(good).startswith(f"scenario.yaml: accounts[{index}].currency: a cTrader account's currency")


def test_mt5_switches_and_faults_are_refused_on_a_ctrader_account(good):
    good["brokers"]["harbor"]["profile"] = "lumen_ctrader"
    harbor = next(a for a in good["accounts"] if a["broker"] == "harbor")
    harbor.pop("currency", None)
    slave = harbor["id"]
    good["faults"] = []
    good["timeline"].append({"at": 1, "action": "autotrading_off", "account": slave})
    assert "autotrading_off is a MetaTrader 5 terminal's switch" in problem(good)
    good["timeline"].pop()
    good["faults"] = [{"at": 1, "kind": "requote", "account": slave, "count": 1}]
    assert f"{slave!r} is a cTrader account, which has no requotes" in problem(good)


def test_negative_volume(good):
    good["timeline"][2]["volume"] = -0.1
    assert problem(good) == "scenario.yaml: timeline[2].volume: Input should be greater than 0"


def test_unknown_broker_reference(good):
    good["accounts"][1]["broker"] = "foo"
    assert (
        problem(good)
        == "scenario.yaml: accounts[1].broker: unknown broker 'foo' (known: ecn, harbor)"
    )


def test_action_on_an_unknown_id(good):
    good["timeline"][1]["id"] = "p9"
    message = problem(good)
    assert message.startswith("scenario.yaml: timeline[1].id: no position or order 'p9'")


def test_action_before_its_open_in_time(good):
    good["timeline"][1]["at"] = 0.5  # the modify comes before the open at 1 s
    assert problem(good).startswith("scenario.yaml: timeline[1].id: no position or order 'p1'")


def test_an_id_opened_twice(good):
    good["timeline"].append(
        {"at": 9, "action": "open", "id": "p1", "symbol": "EURUSD", "side": "buy", "volume": 0.1}
    )
    assert problem(good) == "scenario.yaml: timeline[7].id: 'p1' is already used by timeline[0]"


def test_an_action_after_the_close(good):
    good["timeline"].append({"at": 9, "action": "close", "id": "p1"})
    assert (
        problem(good) == "scenario.yaml: timeline[7].id: 'p1' was already closed before this action"
    )


def test_a_pending_action_on_a_position(good):
    good["timeline"][1] = {"at": 2, "action": "cancel_pending", "id": "p1"}
    assert "timeline[1].id: 'p1' is a position (timeline[0]), not a pending order" in problem(good)


def test_a_partial_close_of_everything(good):
    good["timeline"][2]["volume"] = 0.3
    assert "timeline[2].volume: 0.3 lots is not less than the 0.3 lots left in 'p1'" in problem(
        good
    )


def test_an_unknown_master_symbol(good):
    good["timeline"][0]["symbol"] = "EURUSD.m"
    message = problem(good)  # the later actions on p1 are not reported again
    assert message.startswith("scenario.yaml: timeline[0].symbol: 'EURUSD.m' is not a symbol")
    assert "did you mean 'EURUSD'?" in message


def test_two_masters(good):
    good["accounts"][2]["role"] = "master"
    assert problem(good) == (
        "scenario.yaml: accounts[2].role: a second master (accounts[0] is one); "
        "a scenario has exactly one"
    )


def test_no_master(good):
    good["accounts"][0]["role"] = "slave"
    assert problem(good).startswith("scenario.yaml: accounts: no master")


def test_no_slave(good):
    good["accounts"] = good["accounts"][:1]
    assert problem(good).startswith("scenario.yaml: accounts: no slave")


def test_rules_on_a_master(good):
    good["accounts"][0]["rules"] = {"copy_pending": False}
    assert problem(good) == (
        "scenario.yaml: accounts[0].rules: a master takes no copy rules; set rules on the slaves"
    )


def test_duplicate_account_id(good):
    good["accounts"][2]["id"] = "s1"
    assert problem(good).startswith("scenario.yaml: accounts[2].id: duplicate account id 's1'")


def test_bad_account_id(good):
    good["accounts"][2]["id"] = "has space"
    assert "accounts[2].id: 'has space' is not a valid name" in problem(good)


def test_unknown_action(good):
    good["timeline"][0]["action"] = "buy"
    assert problem(good).startswith(
        "scenario.yaml: timeline[0].action: unknown action 'buy' (expected one of: open, modify,"
    )


def test_missing_action(good):
    del good["timeline"][0]["action"]
    assert problem(good).startswith(
        "scenario.yaml: timeline[0].action: missing (give one of: open,"
    )


def test_modify_that_changes_nothing(good):
    good["timeline"][1] = {"at": 2, "action": "modify", "id": "p1"}
    assert (
        problem(good) == "scenario.yaml: timeline[1]: a modify needs sl_points, tp_points or both"
    )


def test_fractional_points(good):
    good["timeline"][0]["sl_points"] = 10.5
    assert "timeline[0].sl_points: Input should be a valid integer" in problem(good)


def test_infinite_time(good):
    good["timeline"][0]["at"] = float("inf")
    assert "timeline[0].at: Input should be a finite number" in problem(good)


def test_comment_too_long(good):
    good["timeline"][0]["comment"] = "x" * 28
    assert "timeline[0].comment: String should have at most 27 characters" in problem(good)


def test_fault_on_an_unknown_account(good):
    good["faults"][1]["account"] = "s9"
    assert (
        problem(good) == "scenario.yaml: faults[1].account: unknown account 's9' (known: m, s1, s2)"
    )


def test_rejection_on_the_master(good):
    good["faults"][2]["account"] = "m"
    assert (
        problem(good)
        == "scenario.yaml: faults[2].account: 'm' is the master; reject faults apply to slaves"
    )


@pytest.mark.parametrize(("retcode", "expected"), [
    (10009, "faults[2].retcode: 10009 is a success, not a rejection"),
    (10010, "faults[2].retcode: 10010 fills part of the request: use a partial_fill fault"),
    (10037, "faults[2].retcode: 10037 is not in the trade server's return code table"),
])
def test_a_retcode_that_cannot_be_injected(good, retcode, expected):
    good["faults"][2]["retcode"] = retcode
    assert expected in problem(good)


def test_unknown_fault_kind(good):
    good["faults"][0]["kind"] = "crash"
    assert "faults[0].kind: unknown kind 'crash' (expected one of: copier_crash," in problem(good)


def test_overlapping_crashes_are_allowed(good):
    # A crash while the copier is down postpones its restart; the runner keeps one copier.
    good["faults"].append({"at": 2.0, "kind": "copier_crash", "restart_after_ms": 100})
    assert len(parse_scenario(good).faults) == 6


def test_overlapping_disconnects_of_one_account(good):
    good["faults"].append({"at": 3.0, "kind": "disconnect", "account": "s1", "duration_ms": 100})
    assert problem(good) == (
        "scenario.yaml: faults[5].at: overlaps faults[1] (disconnect), which lasts until 7 s"
    )


# ---------------------------------------------------------------------------- absurd numbers


@pytest.mark.parametrize(("where", "field"), [
    (lambda d: d, "seed"),
    (lambda d: d["timeline"][0], "magic"),
    (lambda d: d["faults"][2], "count"),
    (lambda d: d["accounts"][1], "leverage"),
    (lambda d: d["accounts"][1]["rules"]["sizing"], "multiplier"),
])
def test_a_400_digit_integer_is_refused_where_it_stands(good, where, field):
    where(good)[field] = 10**400
    message = problem(good)
    assert f": {field}: a 401-digit integer does not fit in 64 bits" in message or (
        f".{field}: a 401-digit integer does not fit in 64 bits" in message
    ), message


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_an_integer_too_long_for_python_is_refused_with_its_field(tmp_path, good, suffix):
    good["seed"] = 7
    text = json.dumps(good).replace('"seed": 7', '"seed": ' + "9" * 5000)
    path = write(tmp_path, text, "scenario" + suffix)  # JSON is YAML too
    with pytest.raises(ScenarioError, match=r"scenario\.(yaml|json): seed: a 5000-digit integer"):
        load_scenario(path)


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda d: d["faults"][0].update(at=1e12), "faults[0].at: Input should be less than or equal"),
    (lambda d: d["timeline"][0].update(at=8 * 86400), "timeline[0].at: Input should be less than"),
    (lambda d: d.update(duration_s=1e9), "duration_s: Input should be less than or equal"),
    (lambda d: d["faults"][1].update(duration_ms=10**12), "faults[1].duration_ms: Input should be less"),
    (lambda d: d["faults"][3].update(median_ms=float("nan")), "faults[3].median_ms: Input should be a finite"),
    (lambda d: d["accounts"][1].update(balance=float("inf")), "accounts[1].balance: Input should be a finite"),
    (lambda d: d["faults"][4].update(count=10**9), "faults[4].count: Input should be less than or equal to 10000"),
    (lambda d: d.update(poll_interval_ms=1e-9), "poll_interval_ms: Input should be greater than or equal to 1"),
    (lambda d: d.update(checkpoints=[1e12]), "checkpoints[0]: Input should be less than or equal"),
])
def test_absurd_times_and_numbers_are_refused_by_field(good, edit, expected):
    edit(good)
    assert expected in problem(good)


def test_times_beyond_seven_days_say_so(good):
    good["faults"][0]["at"] = 1e12
    assert problem(good).endswith("a scenario spans at most 7 days")


# ------------------------------------------------------------------------ terminal actions


TERMINAL_ACTIONS = ["autotrading_off", "autotrading_on", "connection_lost", "connection_restored",
                    "python_api_off", "python_api_on"]


@pytest.mark.parametrize("action", TERMINAL_ACTIONS)
@pytest.mark.parametrize("account", ["m", "s1"])
def test_terminal_actions_on_any_account(good, action, account):
    good["timeline"].append({"at": 2.5, "action": action, "account": account})
    scenario = parse_scenario(good)
    assert scenario.timeline[-1].account == account
    assert scenario.timeline[-1].action == action


def test_a_terminal_action_names_a_known_account(good):
    good["timeline"].append({"at": 2.5, "action": "connection_lost", "account": "s9"})
    assert problem(good) == "scenario.yaml: timeline[7].account: unknown account 's9' (known: m, s1, s2)"


def test_a_terminal_action_takes_no_position_id(good):
    good["timeline"].append({"at": 2.5, "action": "autotrading_off", "account": "s1", "id": "p1"})
    assert "timeline[7].id: unknown field (allowed: account, action, at)" in problem(good)


def test_checkpoints_count_as_events(good):
    good["checkpoints"] = [0.5, 40]
    assert parse_scenario(good).duration_s == 40 + TAIL_SECONDS
    good["duration_s"] = 20
    assert "duration_s: 20 s ends before the last event (at 40 s)" in problem(good)


def test_duration_shorter_than_the_timeline(good):
    good["duration_s"] = 6
    assert problem(good).startswith(
        "scenario.yaml: duration_s: 6 s ends before the last event (at 7 s)"
    )


def test_netting_master_cannot_hold_two_positions_in_one_symbol(good):
    good["accounts"][0]["margin_mode"] = "netting"
    good["timeline"].append(
        {"at": 1.5, "action": "open", "id": "p2", "symbol": "EURUSD", "side": "sell", "volume": 0.1}
    )
    message = problem(good)
    assert message.startswith("scenario.yaml: timeline[7].symbol: the master account is netting")


def test_only_a_netting_master_s_position_reverses(good):
    good["timeline"].append({"at": 2.5, "action": "reverse", "id": "p1", "volume": 0.2})
    assert "timeline[7].action: only a netting master's position reverses" in problem(good)
    good["accounts"][0]["margin_mode"] = "netting"
    reversed_ = parse_scenario(good, source="scenario.yaml").timeline[-1]
    assert (reversed_.action, reversed_.id, reversed_.volume) == ("reverse", "p1", 0.2)


def test_several_problems_are_listed_one_per_line(good):
    good["timeline"][2]["volume"] = -1
    good["accounts"][1]["bogus"] = True
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(good, source="scenario.yaml")
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert any(line.startswith("scenario.yaml: timeline[2].volume: ") for line in lines)
    assert any(line.startswith("scenario.yaml: accounts[1].bogus: unknown field") for line in lines)


def test_model_validate_alone_still_names_the_field(good):
    good["accounts"][1]["broker"] = "foo"
    with pytest.raises(ValueError, match=r"accounts\[1\]\.broker: unknown broker 'foo'"):
        Scenario.model_validate(good)


# ------------------------------------------------------------------------------- file problems


def test_broken_yaml_names_the_line(tmp_path):
    text = GOOD.replace("margin_mode: netting", "margin_mode: netting: yes")
    assert text.splitlines()[11].strip() == "margin_mode: netting: yes"
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(
        f"{path}: line 12: could not parse YAML: mapping values are not allowed"
    )
    assert len(message.splitlines()) == 1


def test_a_yaml_key_given_twice(tmp_path):
    path = write(tmp_path, GOOD + "seed: 12\n")
    line = len(GOOD.splitlines()) + 1
    with pytest.raises(
        ScenarioError, match=rf"line {line}: could not parse YAML: duplicate key 'seed'"
    ):
        load_scenario(path)


def test_broken_json_names_the_line(tmp_path):
    path = write(tmp_path, '{\n  "seed": 1,\n  "brokers": }\n', "scenario.json")
    with pytest.raises(ScenarioError, match=r"scenario.json: line 3: could not parse JSON"):
        load_scenario(path)


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(ScenarioError, match=r"nowhere.yaml: no such scenario file"):
        load_scenario(path)


def test_wrong_extension(tmp_path):
    with pytest.raises(ScenarioError, match=r"\.yaml, \.yml or \.json"):
        load_scenario(write(tmp_path, GOOD, "scenario.txt"))


@pytest.mark.parametrize(
    ("text", "expected"), [("", "the scenario is empty"), ("- a\n- b\n", "not list")]
)
def test_top_level_must_be_a_mapping(tmp_path, text, expected):
    with pytest.raises(ScenarioError, match=expected):
        load_scenario(write(tmp_path, text))


def test_a_failed_file_leaves_the_input_untouched(good):
    before = copy.deepcopy(good)
    good["timeline"][0]["volume"] = 0
    with pytest.raises(ScenarioError):
        parse_scenario(good)
    good["timeline"][0]["volume"] = before["timeline"][0]["volume"]
    assert good == before


# ------------------------------------------------------------------------------------- schema


def test_json_schema_describes_every_action_and_fault():
    schema = scenario_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "copier_gui replay scenario"
    text = json.dumps(schema)
    for tag in (
        "open",
        "modify",
        "partial_close",
        "close",
        "place_pending",
        "modify_pending",
        "cancel_pending",
        "copier_crash",
        "disconnect",
        "reject",
        "latency",
        "requote",
        *TERMINAL_ACTIONS,
    ):
        assert f'"const": "{tag}"' in text, tag
    assert "checkpoints" in schema["properties"]
    assert "10031" in json.dumps(schema["$defs"]["RejectFault"])
    assert set(schema["required"]) == {"brokers", "accounts", "timeline"}


# ------------------------------------------------------------- the market and the back office


def test_a_price_move_needs_a_known_symbol_and_a_move(good):
    good["timeline"].append({"at": 8, "action": "move_price", "symbol": "EURUSD", "points": -300})
    parse_scenario(good)
    good["timeline"][-1]["points"] = 0
    assert problem(good) == ("scenario.yaml: timeline[7].points: points 0 moves nothing: give a "
                             "positive (up) or negative (down) number of points")
    good["timeline"][-1].update(points=10, symbol="EURUSDX")
    assert problem(good).startswith("scenario.yaml: timeline[7].symbol: 'EURUSDX' is not a symbol at the master's broker meridian_ecn (did you mean 'EURUSD'?")


def test_deposits_and_withdrawals_apply_to_any_account_mt5_or_ctrader(good):
    good["brokers"]["harbor"]["profile"] = "lumen_ctrader"
    harbor = next(a for a in good["accounts"] if a["broker"] == "harbor")
    harbor.pop("currency", None)
    good["faults"] = []
    good["timeline"] += [{"at": 8, "action": "deposit", "account": harbor["id"], "amount": 500},
                         {"at": 9, "action": "withdraw", "account": "s2", "amount": 250.5}]
    scenario = parse_scenario(good)
    assert [(a.action, a.account, a.amount) for a in scenario.timeline[-2:]] == [
        ("deposit", "s1", 500.0), ("withdraw", "s2", 250.5)]
    good["timeline"][-1]["amount"] = 0
    assert problem(good) == "scenario.yaml: timeline[8].amount: Input should be greater than 0"


def test_a_news_calendar_is_read_from_the_scenario_s_folder_and_a_missing_one_is_named(tmp_path):
    rules = ("rules: {risk: {prop: {reset: '00:00 Europe/Prague', "
             "news: {calendar: news.csv, action: stop_entries}}}}")
    text = GOOD.replace("rules: {sizing: {mode: lot_multiplier, multiplier: 0.5}}", rules)
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}: accounts[1].rules.risk.prop.news.calendar: news calendar ")
    assert "no such file" in str(caught.value)
    (tmp_path / "news.csv").write_text("date,time,currency,impact,event\n2026-11-25,13:30,USD,high,CPI\n",
                                       encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.accounts[1].rules.risk.prop.news.calendar == str(tmp_path / "news.csv")
