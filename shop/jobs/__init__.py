"""Background jobs: the queue (``queue.py``), the mail outbox (``models.py``, ``outbox.py``),
the jobs themselves (``tasks.py``) and ``flask shop worker`` (``commands.py``)."""
