"""Every private Dagster API the project uses, in one place (each a bet on the pinned version)."""

from dagster._utils.schedules import is_valid_cron_string

__all__ = ["is_valid_cron_string"]
