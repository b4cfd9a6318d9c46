"""``lawset build`` options for the rewrite step.

``add_build_options(parser)`` adds ``--rewriter``, ``--base-url``, ``--model``, ``--concurrency``,
``--api-key-env`` and ``--rewrite-cache``; ``apply_build_options(args, recipe)`` returns the
recipe with its ``rewrite`` step set from them (inserted right before ``citations`` when the
recipe has none, so the citations of the final answer are the ones recorded). Options left out
keep the recipe's values; the API key itself is never an option (only the name of the
environment variable that holds it).

``--base-url`` must be an http(s) URL with a host (exit 2 otherwise, before any work). Credentials
in it (``http://user:secret@host/v1``) are taken out: the recipe, and so the manifest's digest,
the card and every message, carry the URL without them; they are kept in this process's
environment for the worker processes and sent only as the HTTP basic-authentication header
(``client.py``). :func:`scrub_userinfo` removes them from any other text (e.g. a command line).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..recipe import Recipe, RecipeError, StepConfig
from .client import (
    base_url_problem,
    public_url,
    remember_credentials,
    scrub_userinfo,
    split_credentials,
)
from .step import Rewrite, RewriteParams, bind_build

__all__ = ["add_build_options", "apply_build_options", "scrub_userinfo"]

_FLAGS = {
    "rewriter": "rewriter",
    "base_url": "base_url",
    "model": "model",
    "concurrency": "concurrency",
    "api_key_env": "api_key_env",
    "rewrite_cache": "cache_dir",
}


def add_build_options(parser: argparse.ArgumentParser) -> None:
    """Add the rewrite options to ``lawset build``'s parser."""
    g = parser.add_argument_group(
        "rewriting",
        "LLM-assisted rewriting of terse answers (docs/rewrite.md). Default: the template "
        "rewriter (offline, deterministic, no model).",
    )
    g.add_argument(
        "--rewriter",
        choices=("template", "openai"),
        help="'openai': rewrite through an OpenAI-compatible server (vLLM, Ollama, transformers "
        "serve, OpenAI); needs --base-url and --model",
    )
    g.add_argument(
        "--base-url",
        help="the server's API root, e.g. http://127.0.0.1:8000/v1 (credentials in it, "
        "http://user:password@host/v1, are sent as basic authentication and written nowhere)",
    )
    g.add_argument("--model", help="model name to request")
    g.add_argument(
        "--concurrency", type=int, help="requests in flight for the whole build (default 8)"
    )
    g.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="environment variable holding the API key (default OPENAI_API_KEY)",
    )
    g.add_argument(
        "--rewrite-cache",
        type=Path,
        metavar="DIR",
        help="response cache folder (default OUT/.lawset-cache/rewrite); builds may share one",
    )


def apply_build_options(args: argparse.Namespace, recipe: Recipe) -> Recipe:
    """The recipe with the command line's rewrite options applied; raises :class:`RecipeError`
    (a usage error naming the option and the fix) for an invalid combination."""
    url = getattr(args, "base_url", None)
    if url is not None:
        problem = base_url_problem(url)
        if problem is not None:
            raise RecipeError(
                f"--base-url {public_url(url)!r} {problem}; give the server's API root, e.g. "
                "--base-url http://127.0.0.1:8000/v1"
            )
        clean, userinfo = split_credentials(url)
        if userinfo is not None:
            remember_credentials(clean, userinfo)
        args.base_url = clean  # only the client ever sees the credentials
    given: dict[str, Any] = {}
    for flag, key in _FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            given[key] = str(value) if isinstance(value, Path) else value
    if getattr(args, "concurrency", None) is not None and args.concurrency < 1:
        raise RecipeError("--concurrency must be at least 1")
    steps = list(recipe.steps)
    at = next((i for i, s in enumerate(steps) if s.name == Rewrite.name), None)
    current = dict(steps[at].params) if at is not None else {}
    if not given and at is None:
        _bind(args, recipe)
        return recipe
    params = {**current, **given}
    try:
        checked = RewriteParams(**params)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        where = ".".join(str(x) for x in err["loc"]) or "rewrite"
        raise RecipeError(f"rewrite options: {where}: {msg}") from None
    step = StepConfig(name=Rewrite.name, params=checked.model_dump(mode="json"))
    if at is not None:
        steps[at] = step
    else:
        # before the step that resolves citations, so that it checks the rewritten answers
        cit = recipe.position_of("citations")
        steps.insert(len(steps) if cit is None else cit, step)
    new = recipe.model_copy(update={"steps": steps})
    _bind(args, new)
    return new


def _bind(args: argparse.Namespace, recipe: Recipe) -> None:
    sources = getattr(args, "sources", None)
    if sources is not None:
        bind_build(Path(sources), recipe)
