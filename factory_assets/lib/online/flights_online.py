"""The flights model's feature function: its rows made from raw scheduled flights.

Registered as ``flights`` (lib/online/functions.py) and named by the flights spec's
``online.function``: a request sends scheduled flights in the upstream shape, and the row's late
rates and weather are computed by the line's own feature code over the snapshot's history
(``OnlineFeatures``, lib/online/features.py), which a lookup by key could not give.
"""

from pathlib import Path

from factory_assets.lib.online.contract import Contract
from factory_assets.lib.online.features import OnlineFeatures
from factory_assets.lib.online.lookup_online import Answer, Unavailable
from factory_assets.lib.online.snapshot import build_snapshot

TABLES = {
    "flights": "select * from fct_flights",
    "weather": "select * from fct_weather_hourly",
    "planes": "select * from dim_planes",
    "airports": "select airport_code, time_zone from dim_airports",
    "carriers": "select carrier_code from dim_carriers",
}


class FlightsOnline:
    """One flights snapshot: raw scheduled flights in, the champion's probabilities out."""

    items = "flights"  # the request body's list

    def __init__(self, directory: Path) -> None:
        from factory_assets.serving_app.schemas import PredictRequest

        self.directory = Path(directory)
        self.contract = Contract.read(directory)
        self.features = OnlineFeatures(directory)
        self.as_of = self.features.manifest.as_of
        self.request_model = PredictRequest

    @staticmethod
    def build(conn, contract: Contract) -> tuple:  # noqa: ANN001 (a DuckDB connection)
        """The snapshot's manifest and frames from the warehouse (``build_snapshot``)."""
        frames = {name: conn.sql(sql).pl() for name, sql in TABLES.items()}
        return build_snapshot(*frames.values(), days_back=contract.days, days_ahead=1)

    def answer(self, body, served: dict) -> Answer:  # noqa: ANN001 (PredictRequest)
        """Probabilities of the validated flights from the flights champion.

        Raises:
            InputError: flights the snapshot cannot describe (a 422).
            Unavailable: no champion is loaded.
        """
        name = self.contract.name
        if name not in served:
            raise Unavailable(f"no champion of {name} is loaded")
        block = self.features.rows(body.flights)  # Flight has ScheduledFlight's attributes
        model = served[name]
        probabilities = model.predict(block)
        predictions = [
            {"flight_id": i, "probability": p, "model": name, "version": model.version}
            for i, p in zip(block.ids, probabilities.tolist(), strict=True)
        ]
        keys = [{"flight_id": i} for i in block.ids]
        shadow = [(name, block, probabilities, keys, block.dates)]
        return Answer(predictions, {name: model.version}, shadow)
