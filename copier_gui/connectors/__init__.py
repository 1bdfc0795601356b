"""Adapters that implement the core's connector port for a trading platform.

Each platform lives in its own subpackage (``mt5`` today) and speaks only the port's vocabulary
to the core, so the engine never learns which platform, bridge or simulator sits underneath.
"""
