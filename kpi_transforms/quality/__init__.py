"""The data-quality gate: Great Expectations suites (``expectations/``) run over the batch and
the rebuilt facts before they are committed."""
