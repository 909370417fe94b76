"""Ingest assets; see factory_assets/components/landing_source.py."""

from factory_assets.components.landing_source import build_reference_asset
from factory_assets.lib.sources import AIRLINES, AIRPORTS, PLANES

raw_planes = build_reference_asset(
    PLANES, "Aircraft registry snapshot: manufacture year, seats and engines per tail number."
)
raw_airports = build_reference_asset(
    AIRPORTS, "Airport reference snapshot (FAA code, name, position, time zone)."
)
raw_airlines = build_reference_asset(AIRLINES, "Carrier codes and airline names (snapshot).")
