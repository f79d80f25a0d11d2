"""Runnable examples: ``python examples/<name>.py``, or ``commercekit demo`` for the order lifecycle."""
