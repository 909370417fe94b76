"""Ingest assets; see factory_assets/components/landing_source.py."""

from factory_assets.components.landing_source import build_daily_ingest_asset
from factory_assets.lib.sources import FLIGHTS

raw_flights = build_daily_ingest_asset(
    FLIGHTS,
    "Scheduled and flown departures from NYC for one local day, as landed by the airline feed; "
    "rows that break the contract go to raw_flights_quarantine with their reason.",
)
