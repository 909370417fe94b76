"""A sensor cursor stored by the replay is the one the daemon reads, and the sensor stays on."""

import dagster as dg

from factory_assets.private_api import sensor_cursor, store_sensor_cursor


def test_a_stored_cursor_is_read_back_and_the_sensor_keeps_running(
    defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    sensor = defs.get_sensor_def("flights_retrain_sensor")
    assert sensor_cursor(instance, sensor.name) == (False, None)
    store_sensor_cursor(instance, sensor, "41")
    assert sensor_cursor(instance, sensor.name) == (True, "41")
    store_sensor_cursor(instance, sensor, "42")
    assert sensor_cursor(instance, sensor.name) == (True, "42")
    (state,) = instance.all_instigator_state()
    # the state the daemon lists: by selector (location "factory" of workspace.yaml), running
    assert state.selector.location_name == "factory" and state.name == sensor.name
    assert state.is_running and state.status.value == "DECLARED_IN_CODE"
    assert state.instigator_data.min_interval == sensor.minimum_interval_seconds
