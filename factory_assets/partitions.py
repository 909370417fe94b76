"""Partitions shared by the line: one per day of the replayed year."""

import dagster as dg

# end_date is exclusive: 2013-01-01 … 2013-12-31
DAILY = dg.DailyPartitionsDefinition(start_date="2013-01-01", end_date="2014-01-01")
