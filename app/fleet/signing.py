"""Fleet's name for the server signing key, which lives in app/signing.py (the config and the
audit anchor use it too)."""

from app.signing import HKDF_INFO, new_seed, private_key_from_config, public_key, signing_key

__all__ = ["HKDF_INFO", "new_seed", "private_key_from_config", "public_key", "signing_key"]
