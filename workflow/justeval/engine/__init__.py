"""Running models: the vLLM wrapper, OpenAI-compatible endpoints, GPU slots,
engine sessions, tiny test models."""
