"""Runnable examples: ``python examples/<name>.py``.

They ship as ``commercekit.examples``, so ``commercekit demo`` runs the order lifecycle.
"""
