"""Load an exported unilab model with Hugging Face transformers and report what it computes.

Usage: python transformers_check.py request.json response.json
request: {"dir": HF directory, "rows": [[token ids], ...], "prompt": [ids], "new_tokens": n,
          "texts": [strings to encode with the directory's tokenizer.json]}
response: {"logits": [[[float] per position] per row], "generated": [ids], "encoded": [[ids] per text],
           "versions": {...}}
Run by libs/runner/test/hf-interop.test.ts under the project-local venv (scripts/install-hf-venv.sh).
"""
import json
import sys

import tokenizers
import torch
import transformers
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast


def main(request_path: str, response_path: str) -> None:
    with open(request_path) as f:
        req = json.load(f)
    torch.manual_seed(0)
    model = LlamaForCausalLM.from_pretrained(req["dir"], torch_dtype=torch.float32)
    model.eval()
    out = {"versions": {"torch": torch.__version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__}}
    with torch.no_grad():
        out["logits"] = [model(torch.tensor([row])).logits[0].tolist() for row in req["rows"]]
        prompt = torch.tensor([req["prompt"]])
        generated = model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False, max_new_tokens=req["new_tokens"])
        out["generated"] = generated[0, prompt.shape[1]:].tolist()
    fast = PreTrainedTokenizerFast.from_pretrained(req["dir"])
    out["encoded"] = [fast(text, add_special_tokens=False)["input_ids"] for text in req["texts"]]
    out["eos_token_id"] = fast.eos_token_id
    with open(response_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
