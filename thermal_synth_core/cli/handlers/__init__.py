"""Command handlers: ``args -> exit code``, imported only when their command runs (see ``cli.common``)."""
