"""``lawset certify DIR --model M``: train the two-stage recipe on a release and certify it
(what the certificate holds: :mod:`lawset.sft.certify`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import console
from ..errors import EXIT_OK


def register(subparsers: Any) -> None:
    """Add ``lawset certify``."""
    p = subparsers.add_parser(
        "certify",
        help="train the two-stage SFT recipe on a release and write a certificate",
        description=(
            "Run the two-stage TRL recipe (stage1, then stage2 from stage 1's model) on a release "
            "and write certificate.json: data checksums (verified against manifest.json), model, "
            "hyper-parameters, hardware, loss curves, tokens/s and MFU per stage, held-out loss "
            "on the test splits before and after each stage, and LawBench zero-shot scores before "
            "and after. Writes nothing inside DIR: the certificate and training.log (the libraries' "
            "and the trainer's logs) go to DIR/../certificates/<DIR name>/ or --out. Exit status: "
            "0 written, 1 the release's files do not match its manifest, 2 usage error."
        ),
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="a release built by lawset build")
    p.add_argument(
        "--model",
        required=True,
        help="HF causal LM path or id; `tiny` = random model from the config's model: block with "
        "a tokenizer trained on the release (offline); or a model-config YAML/JSON file",
    )
    p.add_argument(
        "--config",
        help="recipe YAML or shipped name: tiny_cpu, gpu_small, internlm_law_7b (default "
        "tiny_cpu for --model tiny, internlm_law_7b otherwise)",
    )
    p.add_argument(
        "--out",
        type=Path,
        metavar="FOLDER",
        help="folder for certificate.json and training.log, outside DIR (default "
        "DIR/../certificates/<DIR name>/); a path ending in .json names the certificate file",
    )
    p.add_argument(
        "--work",
        type=Path,
        help="keep the models here, outside DIR (default: a temporary folder, removed)",
    )
    p.add_argument(
        "--lawbench-items",
        type=int,
        help="items per LawBench task (default: the config's; 500 = all; 0 = no LawBench)",
    )
    p.add_argument(
        "--benchmarks",
        type=Path,
        help="benchmarks folder holding lawbench/ (default ../shared/benchmarks)",
    )
    p.add_argument("--lora", action="store_true", help="LoRA (peft) instead of full fine-tuning")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train, evaluate, write the certificate; say where it went and how to attach it."""
    from lawset.sft.certify import LOG, CertifyError, certify, summary_text

    if args.lawbench_items is not None and args.lawbench_items < 0:
        raise CertifyError("--lawbench-items must be 0 or more (0 leaves LawBench out)")
    cert, out = certify(
        args.dir,
        args.model,
        config=args.config,
        out=args.out,
        work=args.work,
        lora=args.lora,
        lawbench_items=args.lawbench_items,
        benchmarks=args.benchmarks,
        progress=console.progress_enabled(not args.no_progress),
    )
    if console.level() > console.QUIET:
        print(summary_text(cert))
    print(f"certificate written to {out}")
    print(f"library and trainer logs: {out.parent / LOG}")
    if args.work is not None:
        print(f"models kept in {args.work}/ (base/, stage1/, stage2/)")
    if args.out is None:
        print(f"lawset release {args.dir} --version X.Y.Z attaches it (found there)")
    else:
        print(f"attach it: lawset release {args.dir} --version X.Y.Z --certificate {out}")
    return EXIT_OK
