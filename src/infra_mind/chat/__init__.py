"""The chat assistant's core: ``grounding`` (facts of a result and knowledge-base
articles ranked for a question) and ``answer`` (composed offline, or written by a model
and number-checked). No database, no HTTP: ``services.chat`` stores conversations and
calls ``answer.answer``."""
