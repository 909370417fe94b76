"""The replay of a batched dataset (no calendar): its first batches train, each later is served.

As the daemon would: every landed batch becomes a partition of the dataset's batches; the line
job over the first batches trains the first champions; each later batch then runs its batch
line (ingest to scoring and monitoring, tagged as ``<dataset>_batch_sensor``'s run for it, so a
daemon started afterwards finds it done), and the models' sensors tick after it.
"""

from pathlib import Path

from factory_assets.defs.jobs import line_job, period_job
from factory_assets.lib.sources import Dataset
from factory_assets.replay import RUN_KEY_TAG, SENSOR_TAG, Replay

INITIAL_BATCHES = 3  # of the screenings' six: the first champion sees half of them


def batch_window(dataset: Dataset, landing_dir: Path, count: int = 0) -> tuple[list, list]:
    """(batches that train the first champions, batches replayed after them: ``count`` at most).

    Raises:
        SystemExit: no batch of ``dataset`` has landed (``factory landing`` lays them out).
    """
    batches = dataset.landed_batches(landing_dir)
    if not batches:
        raise SystemExit(f"no batch of {dataset.name} in {landing_dir}: run `factory landing`")
    initial = max(1, min(INITIAL_BATCHES, len(batches) - 1))
    later = batches[initial:]
    return batches[:initial], later[:count] if count else later


def replay_batches(replay: Replay, initial: list[str], later: list[str]) -> None:
    """Train on the ``initial`` batches (none: keep the champions), then serve each ``later``."""
    dataset, instance = replay.dataset, replay.instance
    known = set(instance.get_dynamic_partitions(dataset.partitions_name))
    new = [b for b in [*initial, *later] if b not in known]
    if new:
        instance.add_dynamic_partitions(dataset.partitions_name, new)
    if initial:
        tags = {
            "dagster/asset_partition_range_start": initial[0],
            "dagster/asset_partition_range_end": initial[-1],
        }
        replay.run("initial line", replay.defs.resolve_job_def(line_job(dataset)), tags=tags)
    job = replay.defs.resolve_job_def(period_job(dataset))
    sensor = f"{dataset.name}_batch_sensor"
    for batch in later:
        tags = {SENSOR_TAG: sensor, RUN_KEY_TAG: f"{dataset.name}-{batch}"}
        replay.run(
            "batch line", job, partition_key=batch, tags=tags, run_config=replay.drift_config(job)
        )
        replay.tick_sensors()
