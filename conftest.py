# The live-server fixtures and the report plugin serve both tests/ and conformance/.
pytest_plugins = ["conformance.fixtures", "conformance.plugin"]
