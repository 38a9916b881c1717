"""Encryption at rest: round trips, wrong keys, key derivation, rotation and the setting."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet

from app import create_app, crypto
from app.config import ConfigError, load_config, validate_config
from app.crypto import DecryptionError, decrypt_text, derive_key, encrypt_text, generate_key


def test_round_trip_and_ciphertext_reveals_nothing(app):
    with app.app_context():
        token = encrypt_text("hunter2-äöü-secret")
        assert "hunter2" not in token and token.isascii()
        assert decrypt_text(token) == "hunter2-äöü-secret"
        # Random IV: the same secret never seals to the same text twice.
        assert encrypt_text("hunter2-äöü-secret") != token
        assert decrypt_text(encrypt_text("")) == ""


def test_a_wrong_key_is_a_clear_error():
    sealed = encrypt_text("s3cret", key=generate_key())
    with pytest.raises(DecryptionError, match="ENCRYPTION_KEY"):
        decrypt_text(sealed, key=generate_key())


def test_damaged_or_foreign_values_are_a_clear_error():
    key = generate_key()
    sealed = encrypt_text("s3cret", key=key)
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    for bad in (tampered, "not-a-token", "ünïcode"):
        with pytest.raises(DecryptionError):
            decrypt_text(bad, key=key)
    with pytest.raises(TypeError):
        encrypt_text(b"bytes", key=key)  # type: ignore[arg-type]


def test_derived_key_is_stable_valid_and_depends_on_the_secret_key():
    first = derive_key("secret-one")
    assert first == derive_key("secret-one")
    assert first != derive_key("secret-two")
    Fernet(first.encode())  # a real Fernet key
    sealed = encrypt_text("x", key=first)
    with pytest.raises(DecryptionError):
        decrypt_text(sealed, key=derive_key("secret-two"))


def test_the_test_app_uses_the_key_derived_from_its_secret_key(app):
    assert app.config["ENCRYPTION_KEY"] == derive_key(app.config["SECRET_KEY"])


def test_rotation_new_key_first_still_opens_old_values():
    old, new = generate_key(), generate_key()
    sealed_old = encrypt_text("kept", key=old)
    rotated = f"{new},{old}"
    assert decrypt_text(sealed_old, key=rotated) == "kept"
    sealed_new = encrypt_text("fresh", key=rotated)
    assert decrypt_text(sealed_new, key=new) == "fresh"  # the first key encrypts
    with pytest.raises(DecryptionError):
        decrypt_text(sealed_new, key=old)


def test_config_reads_the_key_from_the_environment(monkeypatch, tmp_path):
    key = generate_key()
    monkeypatch.setenv("VIGIL_ENCRYPTION_KEY", key)
    config = load_config(str(tmp_path))
    config.update(SECRET_KEY="anything", VIGIL_ENV="production")
    validate_config(config, str(tmp_path))
    assert config["ENCRYPTION_KEY"] == key
    assert not any("ENCRYPTION_KEY" in w for w in config.get("WARNINGS", []))


def test_config_refuses_a_malformed_key(monkeypatch, tmp_path):
    monkeypatch.setenv("VIGIL_ENCRYPTION_KEY", "too-short")
    config = load_config(str(tmp_path))
    config["SECRET_KEY"] = "anything"
    with pytest.raises(ConfigError, match="VIGIL_ENCRYPTION_KEY"):
        validate_config(config, str(tmp_path))


def test_production_without_a_key_derives_one_and_warns(monkeypatch, tmp_path, caplog):
    monkeypatch.delenv("VIGIL_ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    with caplog.at_level(logging.WARNING):
        prod = create_app({"VIGIL_ENV": "production", "SECRET_KEY": "prod-secret",
                           "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db", "REDIS_URL": None})
    assert prod.config["ENCRYPTION_KEY"] == derive_key("prod-secret")
    assert any("VIGIL_ENCRYPTION_KEY is not set" in r.getMessage() for r in caplog.records)


def test_development_without_a_key_derives_one_silently(monkeypatch, tmp_path):
    monkeypatch.delenv("VIGIL_ENCRYPTION_KEY", raising=False)
    config = load_config(str(tmp_path))
    config.update(SECRET_KEY="dev-secret", VIGIL_ENV="development")
    validate_config(config, str(tmp_path))
    assert config["ENCRYPTION_KEY"] == derive_key("dev-secret")
    assert not config.get("WARNINGS")


def test_check_keys_rejects_empty_settings():
    with pytest.raises(ValueError):
        crypto.check_keys(" , ")
