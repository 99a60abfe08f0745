"""The stateful model check on the in-memory store."""

from __future__ import annotations

from hypothesis import settings

from careaccess.testing.stateful import CareAccessMachine

TestMemoryMachine = CareAccessMachine.TestCase
TestMemoryMachine.settings = settings(TestMemoryMachine.settings, stateful_step_count=40)
