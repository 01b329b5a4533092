"""The last mile: reminders and violations reach people (issue 14).

- ``smtp``, ``dingtalk``, ``wecom``, ``webhook``: one channel adapter each (``models.ports.ChannelPort``):
  format a ``models.delivery.Message``, send it, and say what the answer means (``models.delivery.Outcome``).
- ``render``: the plain text, HTML and markdown of a message (the sentences come from ``models.wording``).
- ``runner``: claims due rows of the delivery log, sends them, records the outcome, retries with back-off.

Who is told and what the message says is the domain's (``models.escalation``, ``models.delivery``);
reading the notification topics is ``streams.notify``'s; ``config.bootstrap.build_notifier`` builds it all.
"""
