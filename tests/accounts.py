"""The account ids every test area uses, in one place.

BUILD, STAGING and PRODUCTION are the emulator's demo accounts (emulator/demo.py). They are written
out here rather than imported, so that tests check the emulator against the documented ids.
"""
from __future__ import annotations

BUILD, STAGING, PRODUCTION = "111111111111", "222222222222", "333333333333"
# moto's account for credentials that assumed no role: the emulator's own "portal" identity.
DEFAULT_ACCOUNT = "123456789012"
