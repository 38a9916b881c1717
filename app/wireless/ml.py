"""Learned threat models: trained on an organization's own tagged networks, blended with the
rule score (never replacing it).

Labels: an active THREAT tag is a positive; an active FALSE_POSITIVE or LEGIT tag is a
negative; SUSPECT and INVESTIGATE are questions, not answers, so they are not training data.
Features come from a network and its sightings by `features()`, the same function at
training and at scoring time, so the two can never drift apart.

Models are written under instance/ml/<org>/ with their SHA-256 in ml_model_metadata, and
`load_active` refuses any path outside that folder or any file whose checksum differs:
a model file is code (pickle), so only files Vigil wrote itself are ever loaded.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.models import db, utcnow
from app.models.wireless import (
    CELLULAR_TYPES,
    MlModelMetadata,
    MlTrainingHistory,
    Network,
    NetworkTag,
    Observation,
)

MODEL_TYPES = {
    "logistic_regression": "Logistic regression",
    "random_forest": "Random forest",
    "gradient_boosting": "Gradient boosting",
}
FEATURES = (
    "log_sightings",
    "distinct_days",
    "log_span_hours",
    "spread_km",
    "max_level",
    "mean_level",
    "randomized_mac",
    "cellular",
    "ble",
    "open_network",
    "rule_score",
)
POSITIVE_TAGS = ("THREAT",)
NEGATIVE_TAGS = ("FALSE_POSITIVE", "LEGIT")
MIN_PER_CLASS = 10
MAX_SIGHTINGS_PER_NETWORK = 5000  # features are stable long before this; memory stays flat


class TrainingRefused(Exception):
    """Training cannot run (too few labels); the message says what is missing."""


class ModelRejected(Exception):
    """A model file failed its checks and was not loaded."""


@dataclass(frozen=True)
class SightingPoint:
    """What features need of a sighting (the scorer's sightings carry the same fields)."""

    time: Any
    lat: float
    lon: float
    level: int


def _spread_km(points: Sequence[SightingPoint]) -> float:
    lats = [p.lat for p in points]
    lons = [p.lon for p in points]
    dlat = (max(lats) - min(lats)) * 111.32
    mid = math.radians((max(lats) + min(lats)) / 2)
    dlon = (max(lons) - min(lons)) * 111.32 * math.cos(mid)
    return math.hypot(dlat, dlon)


def features(network: Network, sightings: Sequence[Any], rule_score: float | None) -> list[float]:
    """The feature vector of one network (order of FEATURES)."""
    if sightings:
        times = [s.time for s in sightings]
        days = {t.date() if hasattr(t, "date") else date.fromtimestamp(t) for t in times}
        span_hours = (max(times) - min(times)).total_seconds() / 3600
        levels = [s.level for s in sightings]
        spread = _spread_km(sightings)
        max_level, mean_level = max(levels), sum(levels) / len(levels)
    else:
        days, span_hours, spread, max_level, mean_level = set(), 0.0, 0.0, -100, -100.0
    return [
        math.log1p(len(sightings)),
        float(len(days)),
        math.log1p(max(span_hours, 0.0)),
        min(spread, 500.0),
        float(max_level),
        float(mean_level),
        float(bool(network.is_randomized_mac)),
        float(network.type in CELLULAR_TYPES),
        float(network.type == "E"),
        float(network.encryption == "open"),
        float(rule_score or 0.0) / 100.0,
    ]


def load_sightings(org_id: int, network_ids: Iterable[int]) -> dict[int, list[SightingPoint]]:
    """Sightings of the given networks, newest first, capped per network."""
    out: dict[int, list[SightingPoint]] = {}
    ids = list(network_ids)
    for start in range(0, len(ids), 500):
        rows = db.session.execute(
            sa.select(Observation.network_id, Observation.time, Observation.lat, Observation.lon,
                      Observation.level)
            .where(Observation.org_id == org_id, Observation.network_id.in_(ids[start:start + 500]),
                   Observation.time_unknown.is_(False))  # no clock fix: no time to learn from
            .order_by(Observation.network_id, Observation.time.desc())
        )
        for network_id, when, lat, lon, level in rows:
            bucket = out.setdefault(network_id, [])
            if len(bucket) < MAX_SIGHTINGS_PER_NETWORK:
                bucket.append(SightingPoint(when, lat, lon, level))
    return out


def labelled_networks(org_id: int) -> list[tuple[Network, int]]:
    """(network, label) for every network with an active THREAT, FALSE_POSITIVE or LEGIT tag.
    A network carrying both kinds is ambiguous and left out."""
    rows = db.session.execute(
        sa.select(Network, NetworkTag.tag)
        .join(NetworkTag, NetworkTag.network_id == Network.id)
        .where(Network.org_id == org_id, NetworkTag.removed_at.is_(None),
               NetworkTag.tag.in_(POSITIVE_TAGS + NEGATIVE_TAGS))
    ).all()
    labels: dict[int, set[int]] = {}
    networks: dict[int, Network] = {}
    for network, tag in rows:
        networks[network.id] = network
        labels.setdefault(network.id, set()).add(1 if tag in POSITIVE_TAGS else 0)
    return [(networks[i], next(iter(v))) for i, v in sorted(labels.items()) if len(v) == 1]


def _estimator(model_type: str):
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if model_type == "logistic_regression":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, class_weight="balanced"))
    if model_type == "random_forest":
        return RandomForestClassifier(n_estimators=200, min_samples_leaf=2, class_weight="balanced",
                                      random_state=0, n_jobs=1)
    if model_type == "gradient_boosting":
        return GradientBoostingClassifier(n_estimators=150, max_depth=3, learning_rate=0.1, random_state=0)
    raise ValueError(f"unknown model type {model_type!r}")


def _importance(estimator: Any) -> dict[str, float]:
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    if hasattr(final, "feature_importances_"):
        values = list(final.feature_importances_)
    else:
        values = [abs(v) for v in final.coef_[0]]
    total = sum(values) or 1.0
    return {name: round(float(v) / total, 4) for name, v in zip(FEATURES, values, strict=True)}


def model_dir(org_id: int) -> str:
    return os.path.join(current_app.instance_path, "ml", str(int(org_id)))


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def training_set(org_id: int) -> tuple[list[list[float]], list[int]]:
    pairs = labelled_networks(org_id)
    positives = sum(label for _, label in pairs)
    negatives = len(pairs) - positives
    if positives < MIN_PER_CLASS or negatives < MIN_PER_CLASS:
        raise TrainingRefused(
            f"Training needs at least {MIN_PER_CLASS} networks tagged THREAT and {MIN_PER_CLASS} tagged "
            f"FALSE_POSITIVE or LEGIT; this organization has {positives} and {negatives}."
        )
    sightings = load_sightings(org_id, [n.id for n, _ in pairs])
    x = [features(n, sightings.get(n.id, []), n.rule_score) for n, _ in pairs]
    y = [label for _, label in pairs]
    return x, y


def train(org_id: int, model_type: str, notes: str | None = None) -> MlModelMetadata:
    """Cross-validate and fit one model type on the organization's labels; record both."""
    import joblib
    from sklearn.model_selection import StratifiedKFold, cross_validate

    if model_type not in MODEL_TYPES:
        raise ValueError(f"unknown model type {model_type!r}")
    x, y = training_set(org_id)
    started = time.monotonic()
    folds = StratifiedKFold(n_splits=min(5, min(sum(y), len(y) - sum(y))), shuffle=True, random_state=0)
    scoring = ("accuracy", "precision", "recall", "f1", "roc_auc")
    cv = cross_validate(_estimator(model_type), x, y, cv=folds, scoring=scoring)
    estimator = _estimator(model_type).fit(x, y)
    duration = time.monotonic() - started

    os.makedirs(model_dir(org_id), exist_ok=True)
    version = utcnow().strftime("%Y%m%d%H%M%S%f")
    path = os.path.join(model_dir(org_id), f"{model_type}-{version}.joblib")
    joblib.dump({"estimator": estimator, "features": FEATURES}, path)
    os.chmod(path, 0o600)

    def mean(name: str) -> float:
        values = cv[f"test_{name}"]
        return round(float(sum(values) / len(values)), 4)

    model = MlModelMetadata(
        org_id=org_id, model_type=model_type, version=version, accuracy=mean("accuracy"),
        precision=mean("precision"), recall=mean("recall"), f1_score=mean("f1"), roc_auc=mean("roc_auc"),
        model_path=os.path.relpath(path, current_app.instance_path), checksum=_sha256(path),
        feature_names=list(FEATURES),
    )
    db.session.add(model)
    db.session.flush()
    params = estimator.get_params(deep=False) if not hasattr(estimator, "steps") else \
        estimator.steps[-1][1].get_params(deep=False)
    db.session.add(MlTrainingHistory(
        org_id=org_id, model_id=model.id, training_samples=len(y), threat_samples=sum(y),
        benign_samples=len(y) - sum(y),
        hyperparameters={k: v for k, v in params.items() if isinstance(v, int | float | str | bool | type(None))},
        cross_val_scores={name: [round(float(v), 4) for v in cv[f"test_{name}"]] for name in scoring},
        feature_importance=_importance(estimator), duration_seconds=round(duration, 3), notes=notes,
    ))
    return model


def activate(model: MlModelMetadata) -> None:
    """Make `model` the organization's one active model."""
    db.session.execute(sa.update(MlModelMetadata).where(
        MlModelMetadata.org_id == model.org_id, MlModelMetadata.is_active.is_(True)).values(is_active=False))
    db.session.flush()
    model.is_active = True


def deactivate_all(org_id: int) -> None:
    db.session.execute(sa.update(MlModelMetadata).where(
        MlModelMetadata.org_id == org_id, MlModelMetadata.is_active.is_(True)).values(is_active=False))


_loaded: dict[tuple[str, str], Any] = {}


def load(model: MlModelMetadata) -> Any:
    """The estimator of `model`, after checking it is Vigil's own file, unchanged."""
    import joblib

    root = os.path.realpath(model_dir(model.org_id))
    path = os.path.realpath(os.path.join(current_app.instance_path, model.model_path or ""))
    if not path.startswith(root + os.sep):
        raise ModelRejected("model path is outside this organization's model folder")
    if not os.path.isfile(path):
        raise ModelRejected("model file is missing")
    if _sha256(path) != model.checksum:
        raise ModelRejected("model file checksum does not match; it was changed after training")
    key = (path, model.checksum or "")
    if key not in _loaded:
        payload = joblib.load(path)
        if tuple(payload.get("features", ())) != FEATURES:
            raise ModelRejected("model was trained on different features; train it again")
        _loaded[key] = payload["estimator"]
    return _loaded[key]


def active_model(org_id: int) -> MlModelMetadata | None:
    return db.session.scalar(sa.select(MlModelMetadata).where(
        MlModelMetadata.org_id == org_id, MlModelMetadata.is_active.is_(True)))


def probability(estimator: Any, vector: list[float]) -> float:
    """Probability that the network is a threat, 0..1."""
    return float(estimator.predict_proba([vector])[0][1])
