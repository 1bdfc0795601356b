"""The worker host's command line names the hub's JetStream domain with --nats-domain, beside the
?domain= form of the URL, and a domain given twice differently is refused with both named."""

from __future__ import annotations

import argparse

import pytest

from copier_gui.worker_host_cli import add_parser, nats_options
from copier_gui.workers.nats_transport import NatsSetupError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    return parser.parse_args(["worker-host", *argv])


def test_nats_domain_is_the_options_jetstream_domain():
    options = nats_options(parse("--nats", "nats://127.0.0.1:4222", "--nats-domain", "hub"))
    assert options.jetstream_domain == "hub"
    assert nats_options(parse("--nats", "nats://127.0.0.1:4222")).jetstream_domain is None


def test_the_url_form_and_the_flag_agree_or_are_refused():
    same = nats_options(parse("--nats", "nats://127.0.0.1:4222?domain=hub", "--nats-domain", "hub"))
    assert same.jetstream_domain == "hub" and same.server_url == "nats://127.0.0.1:4222"
    with pytest.raises(NatsSetupError, match="'hub'.*'other'"):
        nats_options(parse("--nats", "nats://127.0.0.1:4222?domain=hub", "--nats-domain", "other"))
    with pytest.raises(NatsSetupError, match="JetStream domain 'a.b'"):
        nats_options(parse("--nats", "nats://127.0.0.1:4222", "--nats-domain", "a.b"))
