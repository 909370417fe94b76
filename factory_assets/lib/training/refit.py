"""The served model refitted on every labelled day through the holdout (``training.refit_on_all``).

The gate judges the model the training window trained, early-stopped and calibrated on the
validation window: its holdout and live figures are that model's. A retrain's newest trained-on
day is then ``val_days + holdout_days`` (28 by default) older than the day it starts serving.
With ``refit_on_all`` the model station also refits the chosen model (and the baseline, which
may stand in for it) with the same architecture and hyper-parameters on the training,
validation and holdout windows together, and the package serves the refit:

- gbdt: the early-stopped number of trees, scaled by the rows (all over training's), no early
  stopping (lib/training/gbdt.py ``refit_gbdt``);
- mlp: the best epoch's number of epochs, no early stopping (the holdout rows stand as the
  loop's validation rows; nothing is chosen on them);
- blend: each part as above (a part that is also the baseline is refitted once).

Neither keeps the calibration fitted on validation: it corrects the gated model towards the
validation days, which the refit has learnt, so the refit would be corrected twice (nycflights,
May 2013, trees refitted on Jan–Apr: the flights model's mean prediction 0.39 for a late rate of
0.22, log loss 0.528 kept against 0.473 uncalibrated; delay_class log loss 0.620 against 0.604).
No labelled row is left unseen to fit another: the refit serves its own outputs (identity
calibration). A line without a time axis (training.split) is not refitted: its buckets are keys,
not days.
"""

import dataclasses
import datetime as dt

import polars as pl

from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.training.candidates import BASELINE
from factory_assets.lib.training.train import TrainConfig

FOLDERS = {"training": "refit", BASELINE: "baseline_refit"}  # run folder -> its refit's folder
IDENTITY = {"scale": 1.0, "shift": 0.0}  # the calibration a refit serves with


def _day(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def refit_window(
    cfg: TrainConfig, holdout: tuple | None, line: ModelLine, enabled: bool = True
) -> tuple[dt.date, dt.date] | None:
    """The refit's window: the training start through the later of validation's and holdout's end.

    None when refitting is off, the line has no time axis (a key-hash split) or no holdout is
    set (nothing newer than validation to add).
    """
    if not enabled or line.split is not None or not holdout or not all(holdout):
        return None
    return cfg.train_window[0], max(cfg.val_window[1], _day(holdout[1]))


def refit_outcome(
    trial,  # noqa: ANN001 (a candidates.Trial)
    cfg: TrainConfig,
    frame: pl.DataFrame,
    window: tuple,
    holdout: tuple,
    line: ModelLine,
    done: dict | None = None,
) -> object:
    """``trial``'s model refitted on ``window`` of ``frame``: a Gbdt-, Train- or BlendOutcome.

    ``done``: refits by ``id(trial)``, shared by the run's folders and a blend's parts.
    """
    done = {} if done is None else done
    if id(trial) in done:
        return done[id(trial)]
    if trial.architecture == "blend":
        from factory_assets.lib.training.blend import refit

        def part(t):  # noqa: ANN001, ANN202
            return refit_outcome(t, cfg, frame, window, holdout, line, done)

        done[id(trial)] = refit(trial, part)
        return done[id(trial)]
    done[id(trial)] = _refit_one(trial, cfg, frame, window, holdout, line)
    return done[id(trial)]


def _refit_one(trial, cfg, frame, window, holdout, line) -> object:  # noqa: ANN001, PLR0913
    """A net's or trees' refit (``refit_outcome``)."""
    fitted = trial.outcome
    if trial.architecture == "gbdt":
        from factory_assets.lib.training.gbdt import refit_gbdt

        return refit_gbdt(frame, window, fitted, columns=line.columns, task=line.task)
    from factory_assets.lib.training.train import train_model

    epochs = max(1, int(fitted.metrics.get("best_epoch") or cfg.max_epochs))
    refit_cfg = dataclasses.replace(trial.config or cfg, max_epochs=epochs, patience=0)
    loop_val = (_day(holdout[0]), _day(holdout[1]))
    outcome = train_model(
        frame, refit_cfg, columns=line.columns, task=line.task, windows=(window, loop_val)
    )
    outcome.preprocessor.calibration = dict(IDENTITY)  # fitted on rows it trained on: not kept
    outcome.metrics = {"refit/epochs": float(epochs)}
    return outcome


def refit_run(
    frame: pl.DataFrame,
    cfg: TrainConfig,
    window: tuple,
    holdout: tuple,
    line: ModelLine,
    trials: dict,
) -> tuple[dict, dict]:
    """The refits of a run's ``trials`` (run folder -> Trial), by refit folder, and their record.

    A baseline that is the chosen trial (auto's gbdt of the default recipe) is refitted once.
    The record (the model station's ``refit``) names the window, rows, trees or epochs, and
    which refit folder serves which run folder.
    """
    import time

    outcomes, done, seconds = {}, {}, 0.0
    for folder, trial in trials.items():
        started = time.perf_counter()
        outcomes[FOLDERS[folder]] = refit_outcome(trial, cfg, frame, window, holdout, line, done)
        seconds += time.perf_counter() - started
    served = outcomes[FOLDERS["training"]]
    record = {
        "window": [window[0].isoformat(), window[1].isoformat()],
        "rows": served.train_rows,
        **{k.removeprefix("refit/"): int(v) for k, v in served.metrics.items()},
        "calibration": "none (the refit's own outputs)",
        "folders": {folder: FOLDERS[folder] for folder in trials},
        "seconds": round(seconds, 3),
    }
    return outcomes, record


def served_folder(model: dict, folder: str) -> str:
    """The run folder the package serves for ``folder`` (training, baseline): its refit if any."""
    return ((model.get("refit") or {}).get("folders") or {}).get(folder, folder)


def refit_metrics(record: dict | None) -> dict[str, float]:
    """``refit/rows`` and ``refit/trees`` or ``refit/epochs`` of a record, for MLflow."""
    if not record:
        return {}
    keys = ("rows", "trees", "epochs")
    return {f"refit/{k}": float(record[k]) for k in keys if k in record}


def gated_model(tracking, version) -> tuple | None:  # noqa: ANN001 (TrackingStore, ModelVersion)
    """The model and preprocessor a refitted version's gate judged; None: it serves as gated.

    Its run's ``training/``, or ``baseline/`` when the baseline stood in. The gate meets a
    refitted champion through this model, like for like with the challenger (both trained on a
    training window only): the refit may have learnt the challenger's holdout days, and it is
    newer than the challenger's own training, as the challenger's refit will be newer than it.
    """
    if not version.tags.get("refit"):
        return None
    from factory_assets.lib.training.segment import load_run_model

    return load_run_model(tracking, version.run_id, judged_folder(version))


def judged_folder(version) -> str:  # noqa: ANN001 (a ModelVersion)
    """The run folder of the model a version's gate judged: ``baseline`` if it stood in."""
    return BASELINE if version.tags.get("stand_in") else "training"
