"""Make a small LlamaForCausalLM and a byte-level BPE the way Hugging Face users do, and report what they compute.

Usage: python transformers_make.py request.json response.json
request: {"dir": where to save, "corpus": [training texts], "texts": [texts to encode], "new_tokens": n}
The tokenizer is trained by `tokenizers`' ByteLevelBPETokenizer with special tokens at the front (ids 0..2) and
one added after training (at the end), so its ids are laid out unlike unilab's. The model is randomly initialised
(seeded) with grouped-query attention, tied embeddings, a non-default RoPE base and RMSNorm eps.
response: {"encoded": [[ids]], "logits": [[[float]]] for each encoded text, "generated": [ids], "vocab_size": n}
Run by libs/runner/test/hf-interop.test.ts under the project-local venv (scripts/install-hf-venv.sh).
"""
import json
import os
import sys

import torch
from tokenizers import ByteLevelBPETokenizer
from transformers import LlamaConfig, LlamaForCausalLM


def main(request_path: str, response_path: str) -> None:
    with open(request_path) as f:
        req = json.load(f)
    os.makedirs(req["dir"], exist_ok=True)
    tok = ByteLevelBPETokenizer()
    tok.train_from_iterator(req["corpus"], vocab_size=400, min_frequency=2, special_tokens=["<s>", "<pad>", "</s>"])
    tok.add_special_tokens(["<|user|>"])
    tok.save(os.path.join(req["dir"], "tokenizer.json"))
    encoded = [tok.encode(t).ids for t in req["texts"]]

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        intermediate_size=72,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        rms_norm_eps=1e-5,
        rope_theta=20000.0,
        tie_word_embeddings=True,
        initializer_range=0.2,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
    )
    model = LlamaForCausalLM(config).eval()
    model.save_pretrained(req["dir"], safe_serialization=True)
    with torch.no_grad():
        logits = [model(torch.tensor([ids])).logits[0].tolist() for ids in encoded if ids]
        prompt = torch.tensor([encoded[0]])
        generated = model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False, max_new_tokens=req["new_tokens"])
    out = {"encoded": encoded, "logits": logits, "generated": generated[0, prompt.shape[1]:].tolist(), "vocab_size": tok.get_vocab_size()}
    with open(response_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
