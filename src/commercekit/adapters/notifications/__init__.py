"""Notifiers and the templates they send: a folder or the console, and SMTP.

- :mod:`.templates`: :class:`~.templates.JinjaTemplates`, the built-in templates
  (in ``templates/``) and a merchant's overrides, formatted per locale with Babel;
- :mod:`.files`: the ``file`` and ``console`` notifiers, and the email every
  notifier that sends one builds (:func:`~.files.email_message`);
- :mod:`.smtp`: the ``smtp`` notifier.

Each notifier module is a plugin (``register_notifiers``). This package imports none
of them, so that loading one does not load the others.
"""
