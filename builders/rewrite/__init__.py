"""LLM-assisted rewriting of answers: grounded prompts, fidelity checks, cache, faults."""
