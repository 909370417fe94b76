"""Every private or unexported API of dagster, dagster-dbt, dbt and dbt-duckdb that we use.

This package is the one door; its modules group the bets by what they reach into.

Each function here is a bet on a pin: it reaches into a library where no public API does the
job. Each was checked against the versions in ``PINS``; tests/unit/test_private_api.py exercises
each one and, on a version bump that breaks it, fails naming the API, the installed versions and
``PINS``. Nothing outside this module imports a private name of those libraries.

- ``check_records``: dagster has no public read of asset check evaluations (the instance's
  public methods read materializations, observations and run status changes only; sensors
  watch materializations). The retrain sensor, the suites' watermark and the replay read the
  event log storage's check history.
- ``check_target``: ``dg.AssetCheckEvaluation`` takes the materialization it judged as an
  unexported class. A period monitor yields evaluations itself (``dg.AssetCheckResult`` has no
  partition: it cannot judge one day of a range) and links each to its day's materialization.
- ``is_valid_cron_string``: dagster's own rule for the crons its schedules accept (5 fields, no
  30th of February); croniter is vendored inside dagster, not a dependency we could call, and
  the public ``dg.ScheduleDefinition`` only raises on a bad cron as a side effect of building.
- ``dbt_selection``, ``dbt_asset_events``: dagster-dbt's reading of a step's selection and its
  conversion of dbt Core events to Dagster events, for dbt run in process
  (components/dbt_in_process.py): only the subprocess path is public (``DbtCliResource.cli``).
- ``dbt_event_dict``: dbt's own serialisation of its event messages, the shape dagster-dbt
  reads from the subprocess's JSON log lines (protobuf's public ``MessageToDict`` keeps the
  empty ``node_info`` that dbt drops and dagster-dbt tests for).
- ``release_duckdb``: dbt-duckdb keeps one database per process with no public way to close it.
- ``first_step``, ``job_origin``, ``k8s_step_job``, ``submit_runs``, ``claimed_slots``,
  ``free_slots_of_run``, ``finished_ticks``, ``repository_snapshot``, ``EVENT_LOG_WRITE``: the
  deployment tests and a benchmark do or read what dagster's code server, run worker and
  daemons do internally (a step's k8s Job, a code origin, a run submitted from a RunRequest, a
  dead run's pool slots freed, the daemon's sensor ticks, the UI's snapshot, the event log's
  writes).
- ``sensor_cursor``, ``store_sensor_cursor``: the sensor state the daemon reads and writes,
  so that a replay's sensor cursors are where the daemon resumes (the public path, ``dagster
  sensor cursor --set``, starts a code server and stores a new state as STOPPED); their test
  is tests/unit/test_sensor_state.py.
- ``source_line``, ``ComponentTreeException``: the YAML line of a component attribute, from
  dagster-shared's position tree; the one error type a component load raises as is (dagster
  wraps any other in a message that lists only the component tree), which spec errors subclass.
"""

from factory_assets.private_api.checks import (
    CHECK_PAGE,
    CheckRecord,
    ComponentTreeException,
    check_records,
    check_target,
    is_valid_cron_string,
    source_line,
)
from factory_assets.private_api.dbt import (
    dbt_asset_events,
    dbt_event_dict,
    dbt_selection,
    release_duckdb,
)
from factory_assets.private_api.deployment import (
    EVENT_LOG_WRITE,
    claimed_slots,
    finished_ticks,
    first_step,
    free_slots_of_run,
    job_origin,
    k8s_step_job,
    repository_snapshot,
    submit_runs,
)
from factory_assets.private_api.sensors import sensor_cursor, store_sensor_cursor

PINS = (
    "dagster 1.13.27, dagster-shared 1.13.27, dagster-dbt 0.29.27, dagster-k8s 0.29.27, "
    "dbt-core 1.11.16, dbt-common 1.39.0, dbt-duckdb 1.11.1"
)

__all__ = [
    "CHECK_PAGE",
    "PINS",
    "CheckRecord",
    "ComponentTreeException",
    "EVENT_LOG_WRITE",
    "check_records",
    "check_target",
    "claimed_slots",
    "dbt_asset_events",
    "dbt_event_dict",
    "dbt_selection",
    "finished_ticks",
    "first_step",
    "free_slots_of_run",
    "is_valid_cron_string",
    "job_origin",
    "k8s_step_job",
    "release_duckdb",
    "repository_snapshot",
    "sensor_cursor",
    "source_line",
    "store_sensor_cursor",
    "submit_runs",
]
