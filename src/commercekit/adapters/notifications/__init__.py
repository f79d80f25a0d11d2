"""Notifiers and the templates they send: a folder or the console, and SMTP."""
