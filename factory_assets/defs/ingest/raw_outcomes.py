"""Ingest assets; see factory_assets/components/landing_source.py."""

from factory_assets.components.landing_source import build_daily_ingest_asset
from factory_assets.lib.sources import OUTCOMES

raw_outcomes = build_daily_ingest_asset(
    OUTCOMES,
    "What happened to the flights of the day before (departure and arrival times and delays), "
    "delivered by the operations feed one day later: partition T holds the flights of T - 1. "
    "These are the labels; they never reach features of the same day.",
)
