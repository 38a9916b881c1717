"""Learned threat models: labels, training with cross-validation, activation, safe loading."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.models import db
from app.models.wireless import (
    DeviceSource,
    MlModelMetadata,
    MlTrainingHistory,
    Network,
    NetworkTag,
    Observation,
)
from app.wireless import ml

START = datetime(2026, 9, 1, 8, tzinfo=UTC)


@pytest.fixture()
def model_home(app, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path


def make_network(org_id: int, source: DeviceSource, n: int, *, follower: bool, rng: random.Random) -> Network:
    bssid = f"02:00:00:{n // 256:02X}:{n % 256:02X}:{1 if follower else 0:02X}"
    network = Network(org_id=org_id, bssid=bssid, ssid=f"net{n}", type="W", firsttime_ms=0, lasttime_ms=0,
                      lastlat=0, lastlon=0, encryption="wpa2", rule_score=70.0 if follower else 10.0)
    db.session.add(network)
    db.session.flush()
    # Followers: many days, many places, strong-ish. Benign: one place, one afternoon.
    sightings = 30 if follower else 4
    for i in range(sightings):
        when = START + (timedelta(days=i % 12, hours=i % 5) if follower else timedelta(minutes=5 * i))
        lat = 40.0 + (rng.uniform(-0.3, 0.3) if follower else rng.uniform(-0.0005, 0.0005))
        lon = -74.0 + (rng.uniform(-0.3, 0.3) if follower else rng.uniform(-0.0005, 0.0005))
        level = rng.randint(-80, -60)
        ms = int(when.timestamp() * 1000)
        db.session.add(Observation(org_id=org_id, network_id=network.id, source_id=source.id, bssid=bssid,
                                   level=level, lat=lat, lon=lon, time=when, observed_at_ms=ms, time_ms=ms))
    tag = "THREAT" if follower else rng.choice(["FALSE_POSITIVE", "LEGIT"])
    db.session.add(NetworkTag(org_id=org_id, network_id=network.id, tag=tag, is_threat=follower))
    return network


def labelled(org_id: int, positives: int, negatives: int) -> None:
    rng = random.Random(7)
    source = DeviceSource(org_id=org_id, code="phone", name="Phone")
    db.session.add(source)
    db.session.flush()
    for n in range(positives):
        make_network(org_id, source, n, follower=True, rng=rng)
    for n in range(negatives):
        make_network(org_id, source, 1000 + n, follower=False, rng=rng)
    db.session.flush()


def test_too_few_labels_is_a_clear_refusal(app, orgs, model_home):
    labelled(orgs.a.org.id, 12, 4)
    with pytest.raises(ml.TrainingRefused, match="at least 10 .* has 12 and 4"):
        ml.train(orgs.a.org.id, "random_forest")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MlModelMetadata)) == 0


def test_suspect_and_removed_tags_are_not_labels(app, orgs):
    labelled(orgs.a.org.id, 2, 2)
    network = db.session.scalars(sa.select(Network).where(Network.org_id == orgs.a.org.id)).first()
    db.session.add(NetworkTag(org_id=orgs.a.org.id, network_id=network.id, tag="SUSPECT"))
    tag = db.session.scalar(sa.select(NetworkTag).where(NetworkTag.network_id == network.id,
                                                        NetworkTag.tag != "SUSPECT"))
    tag.removed_at = datetime.now(UTC)
    db.session.flush()
    pairs = ml.labelled_networks(orgs.a.org.id)
    assert len(pairs) == 3
    assert network.id not in {n.id for n, _ in pairs}


@pytest.mark.parametrize("model_type", sorted(ml.MODEL_TYPES))
def test_train_records_metrics_history_and_a_checksummed_file(app, orgs, model_home, model_type):
    labelled(orgs.a.org.id, 12, 12)
    model = ml.train(orgs.a.org.id, model_type)
    db.session.flush()
    assert model.model_type == model_type and not model.is_active
    for value in (model.accuracy, model.precision, model.recall, model.f1_score, model.roc_auc):
        assert 0.0 <= value <= 1.0
    # The synthetic classes are cleanly separable; a working pipeline must find that.
    assert model.roc_auc > 0.9
    history = db.session.scalar(sa.select(MlTrainingHistory).where(MlTrainingHistory.model_id == model.id))
    assert (history.training_samples, history.threat_samples, history.benign_samples) == (24, 12, 12)
    assert len(history.cross_val_scores["f1"]) == 5
    assert set(history.feature_importance) == set(ml.FEATURES)
    assert abs(sum(history.feature_importance.values()) - 1.0) < 0.01
    path = os.path.join(str(model_home), model.model_path)
    assert path.startswith(str(model_home / "ml" / str(orgs.a.org.id)))
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"

    estimator = ml.load(model)
    network = db.session.scalars(sa.select(Network).where(Network.org_id == orgs.a.org.id,
                                                          Network.rule_score == 70.0)).first()
    sightings = ml.load_sightings(orgs.a.org.id, [network.id])[network.id]
    assert ml.probability(estimator, ml.features(network, sightings, network.rule_score)) > 0.5


def test_one_active_model_per_org(app, orgs, model_home):
    labelled(orgs.a.org.id, 10, 10)
    first = ml.train(orgs.a.org.id, "logistic_regression")
    second = ml.train(orgs.a.org.id, "random_forest")
    ml.activate(first)
    db.session.flush()
    ml.activate(second)
    db.session.flush()
    db.session.refresh(first)
    assert (first.is_active, second.is_active) == (False, True)
    assert ml.active_model(orgs.a.org.id).id == second.id
    assert ml.active_model(orgs.b.org.id) is None


def test_tampered_or_foreign_model_files_are_never_loaded(app, orgs, model_home):
    labelled(orgs.a.org.id, 10, 10)
    model = ml.train(orgs.a.org.id, "logistic_regression")
    path = os.path.join(str(model_home), model.model_path)
    with open(path, "ab") as handle:
        handle.write(b"x")
    ml._loaded.clear()
    with pytest.raises(ml.ModelRejected, match="checksum"):
        ml.load(model)
    model.model_path = "../../etc/passwd"
    with pytest.raises(ml.ModelRejected, match="outside"):
        ml.load(model)


def test_pages_train_activate_and_weight(app, client, orgs, model_home):
    from tests.conftest import run_jobs

    labelled(orgs.a.org.id, 10, 10)
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    page = client.get("/wireless/models")
    assert page.status_code == 200 and "10</strong> threat and <strong>10</strong> benign" in page.text

    assert client.post("/wireless/models/train", data={"model_type": "logistic_regression"}).status_code == 303
    run_jobs(app)
    model = db.session.scalar(sa.select(MlModelMetadata).where(MlModelMetadata.org_id == orgs.a.org.id))
    assert model is not None and model.model_type == "logistic_regression"

    assert client.post(f"/wireless/models/{model.id}/activate").status_code == 303
    db.session.expire_all()
    assert ml.active_model(orgs.a.org.id).id == model.id

    bad = client.post("/wireless/models/weight", data={"ml_weight": "1.5"})
    assert bad.status_code == 422 and "from 0 to 1" in bad.text
    assert client.post("/wireless/models/weight", data={"ml_weight": "0.45"}).status_code == 303
    db.session.expire_all()
    from app.wireless import org_settings
    assert org_settings.ml_weight(orgs.a.org.id) == 0.45


def test_training_without_labels_fails_the_job_with_the_reason(app, client, orgs, model_home):
    from app.models import JobRun
    from tests.conftest import run_jobs

    client.login(orgs.a.users["analyst"].email)
    client.post("/wireless/models/train")
    run_jobs(app)
    run = db.session.scalar(sa.select(JobRun).where(JobRun.kind == "wireless.train_models"))
    db.session.refresh(run)
    assert run.status == "failed" and "at least 10" in run.error


def test_read_only_cannot_train_and_other_org_cannot_reach(app, client, orgs, model_home):
    from tests.tenancy import assert_other_org_cannot_reach

    labelled(orgs.b.org.id, 10, 10)
    model = ml.train(orgs.b.org.id, "logistic_regression")
    db.session.commit()
    client.login(orgs.a.users["read_only"].email)
    assert client.post("/wireless/models/train").status_code == 403
    client.post("/auth/logout")
    client.login(orgs.a.users["admin"].email)
    assert_other_org_cannot_reach(client, [("POST", f"/wireless/models/{model.id}/activate")])
    assert str(model.version) not in client.get("/wireless/models").text
