"""Operations: configuration files, validation, health checks, process presence."""
