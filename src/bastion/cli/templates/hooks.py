"""Lifecycle hooks of this project: they run inside each write's transaction."""

import re

from bastion import HookEvent, Hooks

hooks = Hooks()


@hooks.before_create("notes")
async def give_the_note_a_slug(event: HookEvent) -> None:
    """Derive a unique, URL-friendly slug from the title."""
    words = re.sub(r"[^a-z0-9]+", "-", event.record["title"].lower()).strip("-")
    event.record["slug"] = f"{words[:200]}-{event.record['id'].hex[-8:]}"
