"""One worker host of bench/scale_out.py, as its own process: serves the simulated slave accounts
named in its JSON argument over NATS, each in a local worker process, as ``copier-gui worker-host``
does with real terminals. Stopped with SIGTERM.

Run by scale_out.py: python bench/scale_out_host.py '{"url": ..., "accounts": [...], "anchor": ...}'
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from copier_gui.workers.config import SimTerminal, WorkerConfig
from copier_gui.workers.nats_host import WorkerHostServer, local_spawn
from copier_gui.workers.nats_transport import NatsOptions

PROFILES = ("harbor_fx", "summit_netting", "apex_prop", "meridian_ecn")


def slave_config(account: str, index: int, anchor: float, **kw) -> WorkerConfig:
    """The simulated slave ``index``; the same seed and anchor as the master's, so prices agree."""
    terminal = SimTerminal(PROFILES[index % len(PROFILES)], seed=5, anchor=anchor,
                           account={"login": 100 + index, "balance": 1e9})
    return WorkerConfig(account, terminal, **kw)


def slave_kwargs() -> dict:
    # As a resting production slave (its heartbeat too): it polls rarely, since the core pushes
    # every request to it.
    return {"poll_idle_s": 0.1, "poll_rest_s": 1.0, "rest_after_s": 5.0}


async def serve(spec: dict) -> None:
    options = NatsOptions(spec["url"])  # the production lease timings, as the core's
    configs = [slave_config(account, index, spec["anchor"], **slave_kwargs())
               for account, index in spec["accounts"]]
    server = WorkerHostServer(options, configs, local_spawn())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.stop)
    await server.run()


if __name__ == "__main__":
    asyncio.run(serve(json.loads(sys.argv[1])))
