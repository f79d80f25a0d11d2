"""The pure domain: entities, value objects, policies and errors. No I/O here."""
