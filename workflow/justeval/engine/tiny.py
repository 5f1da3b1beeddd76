"""Tiny, fully local language models for tests and the smoke run.

Two kinds are built, both Qwen2 architecture with ``head_dim`` 64 (the smallest
the vLLM CPU attention kernels accept):

``random``
    Randomly initialised weights.  It answers nonsense, which is what a test of
    the plumbing needs.
``always_a``
    Every token embedding is the same vector and the attention and MLP output
    projections are zero, so the residual stream (and thus the final hidden
    state) is the same for every position of every prompt.  The untied output
    layer is zero except for the row of the token ``A``, which is aligned with
    that hidden state.  Decoding therefore emits ``A`` for any prompt (greedy,
    and in practice when sampling too): a verifier that accepts everything.
``constant``
    The same construction for a given ``text``, added to the tokenizer as one
    token: the model answers ``text`` repeated (``\\boxed{7}\\boxed{7}...``), a
    policy model whose answers a test can predict.

The tokenizer is a byte-level BPE trained with ``tokenizers`` on the given
texts (benchmark problems), saved with a ChatML chat template.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from justeval.io.parquet import file_mode

KINDS = ("random", "always_a", "constant")

IM_START, IM_END, ENDOFTEXT = "<|im_start|>", "<|im_end|>", "<|endoftext|>"

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# A few lines of mathematical prose so that a tokenizer can be trained even
# when no corpus is given.
FALLBACK_CORPUS = (
    "Find the sum of all positive integers n such that n^2 + 3n + 2 is prime.",
    "Let $x$ be a real number with $x^2 = 4$. Compute \\frac{1}{2} + \\sqrt{x}.",
    "The answer is \\boxed{42}. Please reason step by step.",
    "A triangle ABC has sides 3, 4 and 5. What is its area?",
)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 512):
    """Train a byte-level BPE tokenizer and wrap it as a transformers tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    texts = [t for t in texts if t] or list(FALLBACK_CORPUS)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[ENDOFTEXT, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(sorted(texts), trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        model_max_length=4096,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _model_config(tokenizer, hidden_size: int, layers: int):
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=hidden_size // 64,
        num_key_value_heads=hidden_size // 64,
        max_position_embeddings=4096,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.convert_tokens_to_ids(ENDOFTEXT),
        eos_token_id=tokenizer.convert_tokens_to_ids(IM_END),
        pad_token_id=tokenizer.convert_tokens_to_ids(ENDOFTEXT),
        torch_dtype="float32",
    )


def _make_constant(model, token_id: int, seed: int) -> None:
    """Rewrite a model's weights so that it always emits ``token_id``."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        emb = model.model.embed_tokens.weight
        direction = torch.randn(emb.shape[1], generator=gen)
        emb.copy_(direction.expand_as(emb))
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        # the final RMSNorm maps the constant residual to a constant vector h
        norm = model.model.norm
        h = direction / direction.pow(2).mean().add(norm.variance_epsilon).sqrt()
        h = h * norm.weight
        head = model.lm_head.weight
        head.zero_()
        head[token_id] = 10.0 * h / h.norm()


def build_tiny_model(
    out_dir: str | Path,
    kind: str = "random",
    texts: Iterable[str] = (),
    seed: int = 0,
    vocab_size: int = 512,
    hidden_size: int = 128,
    layers: int = 2,
    text: str | None = None,
) -> Path:
    """Build a tiny model of the given kind into ``out_dir`` and return it."""
    import torch
    from transformers import Qwen2ForCausalLM, set_seed

    if kind not in KINDS:
        raise ValueError(f"unknown tiny model kind {kind!r}; expected one of {KINDS}")
    if kind == "constant" and not text:
        raise ValueError("a constant tiny model needs the text it answers")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(texts, vocab_size=vocab_size)
    if kind == "constant":
        tokenizer.add_tokens([text])
    set_seed(seed)
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(_model_config(tokenizer, hidden_size, layers))
    if kind == "always_a":
        (token_id,) = tokenizer.encode("A", add_special_tokens=False)
        _make_constant(model, token_id, seed)
    elif kind == "constant":
        (token_id,) = tokenizer.encode(text, add_special_tokens=False)
        _make_constant(model, token_id, seed)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    # generation_config.json carries sampling defaults that vLLM would pick up;
    # a tiny model should have none beyond its special tokens.
    (out / "generation_config.json").write_text(
        json.dumps(
            {
                "bos_token_id": model.config.bos_token_id,
                "eos_token_id": model.config.eos_token_id,
                "pad_token_id": model.config.pad_token_id,
            },
            indent=2,
        )
        + "\n"
    )
    # the weights' writer makes its file readable by its owner only (0600); every file of
    # the model gets what the user's umask gives, like the pipeline's other outputs
    for path in out.iterdir():
        if path.is_file():
            path.chmod(file_mode())
    return out
