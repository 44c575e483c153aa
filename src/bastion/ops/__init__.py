"""Operations: health, metrics, logging, tracing, feature flags."""

import sys

# structlog's development renderer imports rich, when it is installed (the command line
# uses it), to draw tracebacks: about 5 MiB in every worker (measured), which renders
# JSON in production and never needs it. Hiding rich while structlog is first imported
# leaves it plain tracebacks; rich itself stays importable for the command line.
if "structlog" not in sys.modules and "rich" not in sys.modules:
    sys.modules["rich"] = None  # type: ignore[assignment]
    try:
        import structlog  # noqa: F401
    finally:
        del sys.modules["rich"]
