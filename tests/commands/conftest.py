import pytest


def pytest_collection_modifyitems(items):
    # Pruning is database-specific work (batched deletes, locks, deferred foreign keys):
    # `make test` runs these again on PostgreSQL.
    for item in items:
        if "tests/commands/" in str(item.path):
            item.add_marker(pytest.mark.postgres)
