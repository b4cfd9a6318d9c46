#!/usr/bin/env bash
# The recipe's GPU run: both stages of a ~340M Qwen2-shaped model (sft/configs/gpu_small.yaml) on
# a real release, bf16, packing, then the certificate with tokens/s, MFU, loss curves and held-out
# losses per stage. Two steps, run from the repository root:
#
#   bash sft/gpu_run.sh prepare RELEASE   # on the CPU machine: stage everything in out/gpu/
#   bash sft/gpu_run.sh run               # on the GPU machine (carry out/gpu): writes $OUT/
#
# `prepare` puts in out/gpu/ (ignored by git, ~20 MB plus the release) what the GPU machine lacks
# (../shared/docs/FACTS.md section 6): wheels of trl, datasets, dill and multiprocess for its
# Python 3.12, jieba's default dictionary (the LawBench ROUGE scorer needs it; jieba ships no
# wheel), the LawBench zero-shot items, and a copy of RELEASE. `run` installs the wheels into a
# private folder (the machine's own packages are left alone), puts lawset on PYTHONPATH, checks the
# GPU and runs `lawset certify`. CONFIG=tiny_cpu runs the same path on a CPU in a minute.
set -euo pipefail

STAGE=out/gpu
CONFIG=${CONFIG:-gpu_small}
RESULT=${OUT:-$STAGE/result}

prepare() {
    local release=${1:?usage: sft/gpu_run.sh prepare RELEASE}
    [ -f "$release/manifest.json" ] || { echo "$release: not a lawset release" >&2; exit 2; }
    local py=${PYTHON:-python}
    rm -rf "$STAGE" && mkdir -p "$STAGE/wheels" "$STAGE/site" "$STAGE/benchmarks/lawbench/data"
    "$py" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
        -d "$STAGE/wheels" trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19
    local jieba
    jieba=$("$py" -c 'import jieba, os; print(os.path.dirname(jieba.__file__))')
    mkdir -p "$STAGE/site/jieba"
    cp "$jieba"/__init__.py "$jieba"/_compat.py "$jieba"/dict.txt "$STAGE/site/jieba/"
    cp -r "$jieba"/finalseg "$STAGE/site/jieba/"
    rm -rf "$STAGE/site/jieba/finalseg/__pycache__"
    cp -r ../shared/benchmarks/lawbench/data/zero_shot "$STAGE/benchmarks/lawbench/data/"
    cp -r "$release" "$STAGE/release"
    rm -f "$STAGE/release/reports/certificate.json"
    du -sh "$STAGE"
    echo "staged in $STAGE/: carry it to the GPU machine and run: bash sft/gpu_run.sh run"
}

run() {
    [ -f "$STAGE/release/manifest.json" ] || { echo "$STAGE: run 'prepare RELEASE' first" >&2; exit 2; }
    local py=${PYTHON:-python}
    SCRATCH=$(mktemp -d)
    trap 'rm -rf "$SCRATCH"' EXIT  # the private packages and the trained models
    local pkg=$SCRATCH/site
    mkdir -p "$pkg/lawset" "$RESULT"
    if ! "$py" -c 'import trl, datasets' 2>/dev/null; then
        "$py" -m pip install --quiet --no-deps --no-index --target "$pkg" "$STAGE"/wheels/*.whl
    fi
    "$py" -c 'import jieba' 2>/dev/null || cp -r "$STAGE/site/jieba" "$pkg/"
    # lawset's packages map to folders of this checkout (pyproject's package-dir)
    ln -s "$PWD/sft" "$pkg/lawset/sft"
    ln -s "$PWD/builders" "$pkg/lawset/builders"
    export PYTHONPATH="$pkg${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
    export TOKENIZERS_PARALLELISM=true
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version \
        --format=csv | tee "$RESULT/nvidia-smi.csv"
    "$py" - <<'EOF' | tee "$RESULT/versions.txt"
import sys, torch, transformers, trl, datasets, lawset.sft.certify as c
print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.cuda.is_available(),
      "transformers", transformers.__version__, "trl", trl.__version__, "datasets", datasets.__version__)
EOF
    "$py" -m lawset.sft.certify "$STAGE/release" --model tiny --config "$CONFIG" \
        --work "$SCRATCH/work" --out "$RESULT/certificate.json" \
        --benchmarks "$STAGE/benchmarks" --no-progress 2>&1 | tee "$RESULT/certify.log" \
        | grep -v "it/s\]\|examples/s\]"
    "$py" - "$RESULT/certificate.json" <<'EOF' | tee "$RESULT/figures.md"
import json, sys
c = json.load(open(sys.argv[1]))
print(f"device: {c['hardware']['device']}; model {c['model']['parameters']/1e6:.0f}M parameters")
print("| stage | rows | tokens | tokens/s | model TFLOP/s | MFU | peak GB | loss first->last quarter | held-out before->after |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
for s, r in c["stages"].items():
    k = c["checks"][s]
    f = lambda v, spec=".3f": "-" if v is None else format(v, spec)
    print(f"| {s} | {r['rows']:,} | {r['tokens']:,} | {f(r['tokens_per_s'], ',.0f')} | "
          f"{f(r['model_tflops_per_s'], '.0f')} | {f(r['mfu'], '.1%')} | {f(r['peak_memory_gb'], '.1f')} | "
          f"{f(k['train_loss_first_quarter'])} -> {f(k['train_loss_last_quarter'])} | "
          f"{f(k['heldout_loss_before'])} -> {f(k['heldout_loss_after'])} |")
EOF
    echo "results in $RESULT/ (certificate.json, training.log, figures.md, certify.log)"
}

case "${1:-}" in
    prepare) shift; prepare "$@" ;;
    run) run ;;
    *) echo "usage: bash sft/gpu_run.sh prepare RELEASE | run" >&2; exit 2 ;;
esac
