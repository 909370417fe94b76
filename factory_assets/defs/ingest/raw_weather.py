"""Ingest assets; see factory_assets/components/landing_source.py."""

from factory_assets.components.landing_source import build_daily_ingest_asset
from factory_assets.lib.sources import WEATHER

raw_weather = build_daily_ingest_asset(
    WEATHER,
    "Hourly weather observations at EWR, JFK and LGA for one local day; rows that break the "
    "contract go to raw_weather_quarantine with their reason.",
)
