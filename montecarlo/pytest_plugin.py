"""pytest plugin (entry point ``pytest11``): placeholder, filled by the conformance work."""
