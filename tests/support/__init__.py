"""Helpers shared by the e2e, run and security tests (real servers, no mocks)."""
