"""HTTP entry points: REST (and later GraphQL)."""
