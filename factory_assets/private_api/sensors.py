"""The sensor state the daemon reads and writes (cursor and status)."""

from __future__ import annotations

import functools
from pathlib import Path

import dagster as dg

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def _repository_origin():  # noqa: ANN202 (a RemoteRepositoryOrigin)
    from dagster._core.definitions.repository_definition.valid_definitions import (
        SINGLETON_REPOSITORY_NAME,
    )
    from dagster._core.remote_origin import RemoteRepositoryOrigin
    from dagster._core.workspace.load import location_origins_from_yaml_paths

    (location,) = location_origins_from_yaml_paths([str(PROJECT_ROOT / "workspace.yaml")])
    return RemoteRepositoryOrigin(location, SINGLETON_REPOSITORY_NAME)


def _sensor_origin(name: str):  # noqa: ANN202 (a RemoteInstigatorOrigin)
    """The origin the daemon gives sensor ``name`` of workspace.yaml's code location.

    The daemon finds a sensor's stored state by its selector (location, repository, name);
    the rest of the origin (interpreter, working directory) is read from workspace.yaml as the
    daemon reads it, without starting the code server the public path (``dagster sensor
    cursor --set``) starts, which would also store a new state as STOPPED.
    """
    from dagster._core.remote_origin import RemoteInstigatorOrigin

    return RemoteInstigatorOrigin(_repository_origin(), name)


def _stored_state(instance: dg.DagsterInstance, name: str):  # noqa: ANN202 (InstigatorState)
    origin = _sensor_origin(name)
    return origin, instance.get_instigator_state(origin.get_id(), origin.get_selector().get_id())


def sensor_cursor(instance: dg.DagsterInstance, name: str) -> tuple[bool, str | None]:
    """Whether the instance holds a state for sensor ``name``, and its cursor (as the daemon)."""
    _, state = _stored_state(instance, name)
    if state is None:
        return False, None
    return True, state.instigator_data.cursor if state.instigator_data else None


def store_sensor_cursor(
    instance: dg.DagsterInstance, sensor: dg.SensorDefinition, cursor: str | None
) -> None:
    """Store ``cursor`` as ``sensor``'s cursor in the instance, where the daemon resumes from it.

    A new state keeps the sensor's default status (DECLARED_IN_CODE for a sensor running by
    default, as the daemon itself records it); an existing one keeps its status and tick times.
    """
    from dagster._core.scheduler.instigation import (
        InstigatorState,
        InstigatorStatus,
        InstigatorType,
        SensorInstigatorData,
    )

    origin, state = _stored_state(instance, sensor.name)
    if state is None:
        running = sensor.default_status == dg.DefaultSensorStatus.RUNNING
        status = InstigatorStatus.DECLARED_IN_CODE if running else InstigatorStatus.STOPPED
        data = SensorInstigatorData(
            min_interval=sensor.minimum_interval_seconds,
            cursor=cursor,
            sensor_type=sensor.sensor_type,
        )
        instance.add_instigator_state(InstigatorState(origin, InstigatorType.SENSOR, status, data))
        return
    data = state.instigator_data or SensorInstigatorData(sensor_type=sensor.sensor_type)
    instance.update_instigator_state(state.with_data(data._replace(cursor=cursor)))
