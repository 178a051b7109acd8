"""The clock's sweep over every institution, on real institution files."""

from governance.maintenance import sweep
from tenants.layout import DataDir
from tenants.registry import Registry
from tenants.tenant import Tenants
from tests.tenants.test_backups import make_institution


def test_a_sweep_visits_every_institution_and_ends_early_when_told(tmp_path):
    for n in range(5):
        make_institution(tmp_path, f"inst-{n}")
    layout = DataDir(tmp_path)
    registry, tenants = Registry(layout.registry_path), Tenants(layout)
    try:
        assert sweep(registry, tenants, page=2).institutions == 5
        visited = []

        def stopping() -> bool:  # SIGTERM arrives after the second institution
            visited.append(1)
            return len(visited) > 2

        assert sweep(registry, tenants, page=2, stopping=stopping).institutions == 2
    finally:
        tenants.close()
        registry.db.close()
