"""Operations: health, metrics, logging, tracing, feature flags."""
