"""Versioned prompt files (``prompts/<name>.yaml``) and the messages made from them.

The version recorded in a record's ``rewrite.prompt_version`` and in every cache key is
``<name>@<first 12 hex digits of the file's sha256>``: editing a prompt file changes the version
by construction, so no answer made with an old prompt is ever taken for a new one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

DEFAULT_PROMPT = "rewrite_v1"


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    system: str
    user: str
    retry: str
    no_articles: str
    tasks: dict[str, str]

    def instruction(self, task: str) -> str:
        return self.tasks.get(task) or self.tasks["default"]


@lru_cache(maxsize=8)
def load_prompt(name: str = DEFAULT_PROMPT) -> Prompt:
    """The prompt ``prompts/<name>.yaml`` shipped in the package."""
    ref = resources.files("lawset.builders.rewrite").joinpath(f"prompts/{name}.yaml")
    if not ref.is_file():
        raise ValueError(f"prompt {name!r}: no file builders/rewrite/prompts/{name}.yaml")
    raw = ref.read_bytes()
    data = yaml.safe_load(raw.decode("utf-8"))
    missing = [k for k in ("system", "user", "retry", "no_articles", "tasks") if k not in data]
    if missing or "default" not in data.get("tasks", {}):
        raise ValueError(f"prompt {name!r}: missing keys {missing or ['tasks.default']}")
    return Prompt(
        name=name,
        version=f"{name}@{hashlib.sha256(raw).hexdigest()[:12]}",
        system=data["system"],
        user=data["user"],
        retry=data["retry"],
        no_articles=data["no_articles"],
        tasks=dict(data["tasks"]),
    )
