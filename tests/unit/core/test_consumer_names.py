"""A consumer's name keys its processed events and dead letters: it must be the same in
every process that loads the project's hooks (workers, restarts)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bastion import ConsumedEvent, Hooks

_PRINT_NAMES = """
from bastion.app.extensions import load_reference
from bastion.blueprint import load_blueprint
hooks = load_reference(load_blueprint({path!r}), "hooks", "hooks")
print(sorted(hooks.consumers))
"""


def test_consumer_default_name_is_file_and_function() -> None:
    hooks = Hooks()

    @hooks.consumer("orders.created")
    async def count_sales(event: ConsumedEvent) -> None:
        return None

    assert list(hooks.consumers) == [
        "test_consumer_names.test_consumer_default_name_is_file_and_function.<locals>.count_sales"
    ]


def test_consumer_names_of_project_hooks_are_the_same_in_every_process(tmp_path: Path) -> None:
    (tmp_path / "bastion.yaml").write_text(
        "name: x\nhooks: hooks.py\nresources:\n  notes:\n    fields:\n      title: {type: string}\n"
    )
    (tmp_path / "hooks.py").write_text(
        "from bastion import Hooks\nhooks = Hooks()\n\n"
        "@hooks.consumer('notes.*')\nasync def notify(event):\n    pass\n"
    )
    script = _PRINT_NAMES.format(path=str(tmp_path / "bastion.yaml"))
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1] == "['hooks.notify']\n"
