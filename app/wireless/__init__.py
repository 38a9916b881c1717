"""ShadowCheck: which Wi-Fi, Bluetooth and cellular radios follow the user (pure scoring core)."""
