"""Extraction: bring chat logs from where they live (IMAP mailboxes, S3-compatible object
storage) into a landing folder, incrementally, with checkpoints the caller commits.

Every extractor writes files atomically (temporary hidden name, then rename) under its own
sub-folder of the landing folder, names them by content or version so a repeated fetch never
makes a second copy, and returns an :class:`~kpi_transforms.extract.common.ExtractResult`: the
files written, the files already landed by an interrupted run, and the *proposed* checkpoints.
Checkpoints advance only when the caller stages them with
:func:`kpi_transforms.extract.checkpoints.stage_checkpoints` inside the transaction that loads
the files. Nothing here imports airflow; credentials come from the environment or the caller.
"""
