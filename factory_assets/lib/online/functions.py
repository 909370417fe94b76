"""Feature functions registered in Python: a spec's ``online.function`` names one.

A feature function makes a model's whole feature row from a request (flights: rolling late
rates over the snapshot's history, weather at the scheduled hour), where a lookup by key in the
snapshot cannot. It is a class with the interface of ``lib/online/flights_online.FlightsOnline``:
``build(conn, days)`` (the snapshot's manifest and frames, from the warehouse), a constructor
from a snapshot directory, ``request_model`` and ``answer``. Registered by import path, so the
spec's check does not import it.
"""

import importlib

FUNCTIONS = {"flights": "factory_assets.lib.online.flights_online:FlightsOnline"}


def feature_function(name: str) -> type:
    """The registered feature function class ``name``.

    Raises:
        KeyError: no function of that name is registered.
    """
    if name not in FUNCTIONS:
        raise KeyError(f"no online feature function {name!r}; registered: {sorted(FUNCTIONS)}")
    module, attribute = FUNCTIONS[name].split(":")
    return getattr(importlib.import_module(module), attribute)
