"""Day 12: the notebook's online-only cells (pretrained SmolLM2 and GPT-2), run offline.

The cells are taken from ``notebooks/12_gpt_and_llama.ipynb`` by their cell ids -- ``c075f``
(``llama_from_hub``), ``c075`` (SmolLM2-135M generates), ``d12o2`` (GPT-2 small in our GPT
class) and ``d12o4`` (the chat template with SmolLM2-135M-Instruct) -- and executed in a fresh
Python process, as the notebook runs them, with the network check saying "online". Nothing is
downloaded: the four entry points the cells use to reach the Hugging Face Hub
(``AutoConfig.from_pretrained``, ``huggingface_hub.hf_hub_download``,
``AutoTokenizer.from_pretrained`` and ``GPT2LMHeadModel.from_pretrained``) are replaced by
stand-ins that record the repository and revision asked for and return tiny local look-alikes:

* a byte-level BPE tokenizer trained on three sentences with the ``tokenizers`` library, with
  ``<|im_start|>``, ``<|im_end|>`` (its eos) and a ChatML chat template like SmolLM2-Instruct's,
  saved and reloaded with ``AutoTokenizer`` from a temporary folder;
* for each SmolLM2 repository a 2-layer ``LlamaForCausalLM`` (hidden 32, 4 heads, 2 KV heads,
  tied embeddings, RoPE theta 100000) written by ``save_pretrained`` in bfloat16 like the real
  checkpoints: ``hf_hub_download`` returns the path of that real ``model.safetensors`` (keys
  ``model.*``, no ``lm_head.weight``: transformers leaves a tied head out);
  the base model has random weights, the Instruct one is wired by hand so that greedy decoding
  answers any prompt with one token ("ĠShakespeare") and then ``<|im_end|>`` forever, so the
  chat cell's cut at eos is really exercised;
* a 2-layer ``GPT2LMHeadModel`` (hidden 32, 2 heads, 64 positions) with random weights.

The test checks that the cells ask for the pinned revisions of the right repositories, that the
weights really arrive in our models (same logits as the transformers models, same greedy text),
and what the cells print.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "12_gpt_and_llama.ipynb"
CELL_IDS = ["c075f", "c075", "d12o2", "d12o4"]  # in notebook order: c075f defines llama_from_hub
BASE, INSTRUCT, GPT2 = "HuggingFaceTB/SmolLM2-135M", "HuggingFaceTB/SmolLM2-135M-Instruct", "openai-community/gpt2"
SHA = re.compile(r"\b[0-9a-f]{40}\b")


def _cells() -> dict[str, str]:
    book = json.loads(NOTEBOOK.read_text("utf-8"))
    found = [(c.get("id"), c) for c in book["cells"] if c.get("id") in CELL_IDS]
    assert [i for i, _ in found] == CELL_IDS, "the four online cells, once each, in this order"
    assert all(c["cell_type"] == "code" for _, c in found)
    cells = {i: "".join(c["source"]) for i, c in found}
    for i in CELL_IDS[1:]:
        assert cells[i].startswith("if not mlcourse.net.skip_offline("), f"cell {i} is guarded by the network check"
    return cells


def _pinned(cells: dict[str, str]) -> dict[str, str]:
    """The one 40-hex revision written in each online cell."""
    pins = {i: SHA.findall(cells[i]) for i in CELL_IDS[1:]}
    assert all(len(p) == 1 for p in pins.values()), f"one pinned revision per cell: {pins}"
    return {i: p[0] for i, p in pins.items()}


# Runs in a child process: the stand-ins patch transformers and huggingface_hub for the whole
# process, and the cells' globals (real, tok, gpt2, chat, ...) must not leak into other tests.
DRIVER = r'''
import contextlib, copy, io, json, os, sys, traceback
import torch
torch.set_num_threads(1)
import huggingface_hub, transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
import mlcourse, mlcourse.net
from mlcourse.models import llama as L
from mlcourse.models.gpt import GPT as CourseGPT, sample_next

cells = json.loads(sys.stdin.read())
work = sys.argv[1]
BASE, INSTRUCT, GPT2 = "HuggingFaceTB/SmolLM2-135M", "HuggingFaceTB/SmolLM2-135M-Instruct", "openai-community/gpt2"

# --- the tiny tokenizer: byte-level BPE, ChatML special tokens and chat template ---------------
texts = ["The meaning of life is to be, or not to be: that is the question.",
         "Who wrote Romeo and Juliet? William Shakespeare wrote Romeo and Juliet.",
         "To be, or not to be: Shakespeare. Shakespeare wrote Hamlet."] * 3
bpe = Tokenizer(models.BPE())
bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
bpe.decoder = decoders.ByteLevel()
bpe.train_from_iterator(texts, trainers.BpeTrainer(
    vocab_size=320, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
fast = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>",
                                            unk_token="<|endoftext|>", pad_token="<|im_end|>")
fast.chat_template = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
                      " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
                      "{{ '<|im_start|>assistant\n' }}{% endif %}")
fast.save_pretrained(os.path.join(work, "tokenizer"))
TOK = transformers.AutoTokenizer.from_pretrained(os.path.join(work, "tokenizer"))
V, EOS = len(TOK), TOK.eos_token_id
ANSWER = TOK.convert_tokens_to_ids("ĠShakespeare")
assert ANSWER not in (None, TOK.unk_token_id) and EOS == TOK.convert_tokens_to_ids("<|im_end|>")

# --- the tiny Llamas (SmolLM2 look-alikes), saved like the Hub's checkpoints (bfloat16) --------
def tiny_llama(seed):
    torch.manual_seed(seed)
    cfg = transformers.LlamaConfig(vocab_size=V, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=2, intermediate_size=64, max_position_embeddings=256,
                                   tie_word_embeddings=True, hidden_act="silu", rope_theta=100000.0,
                                   bos_token_id=None, eos_token_id=EOS, pad_token_id=None)
    return transformers.LlamaForCausalLM(cfg).eval()

def answer_then_eos(m):
    """Wire the model so that greedy decoding maps every ordinary token to ANSWER, ANSWER to EOS
    and EOS to itself. Attention adds nothing (o_proj = 0): the next token depends on the last one.
    Ordinary embeddings carry a 1 in dimension 0, ANSWER's is dimension 1, EOS's dimension 2; the
    first MLP reads dimension 0 (1) and writes dimension 1 (2). Head tied to the embedding."""
    with torch.no_grad():
        g = torch.Generator().manual_seed(1)
        E = m.model.embed_tokens.weight
        E.zero_()
        E[:, 3:] = 0.02 * torch.randn(E.shape[0], E.shape[1] - 3, generator=g)
        E[:, 0] = 1.0
        E[ANSWER] = 0.0; E[ANSWER, 1] = 1.0
        E[EOS] = 0.0; E[EOS, 2] = 1.0
        for layer in m.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        mlp = m.model.layers[0].mlp
        mlp.gate_proj.weight.zero_(); mlp.up_proj.weight.zero_()
        for unit, (src, dst) in enumerate([(0, 1), (1, 2)]):
            mlp.gate_proj.weight[unit, src] = mlp.up_proj.weight[unit, src] = 1.0
            mlp.down_proj.weight[dst, unit] = 1.0
    return m

HF, FOLDERS = {}, {}
for repo, seed in [(BASE, 0), (INSTRUCT, 1)]:
    m = tiny_llama(seed)
    if repo == INSTRUCT:
        answer_then_eos(m)
    m = m.to(torch.bfloat16).float()                 # the values a bfloat16 checkpoint holds
    FOLDERS[repo] = os.path.join(work, repo.replace("/", "--"))
    m.to(torch.bfloat16).save_pretrained(FOLDERS[repo])
    HF[repo] = m.float().eval()
    assert HF[repo].lm_head.weight.data_ptr() == HF[repo].model.embed_tokens.weight.data_ptr(), "tied"
CONFIGS = {r: transformers.AutoConfig.from_pretrained(f) for r, f in FOLDERS.items()}

torch.manual_seed(2)
gpt2_folder = os.path.join(work, "gpt2")
transformers.GPT2LMHeadModel(transformers.GPT2Config(vocab_size=V, n_positions=64, n_embd=32, n_layer=2,
                                                     n_head=2)).save_pretrained(gpt2_folder)
HF[GPT2] = transformers.GPT2LMHeadModel.from_pretrained(gpt2_folder).eval()

# --- what the Hub would have answered: recorded, served from the temporary folders -------------
calls = []
def fake_config(repo, *args, **kwargs):
    calls.append(["AutoConfig.from_pretrained", repo, kwargs.get("revision"), list(args)])
    return copy.deepcopy(CONFIGS[repo])
def fake_download(repo, filename, *args, **kwargs):
    calls.append(["hf_hub_download", repo, kwargs.get("revision"), [filename, *args]])
    return os.path.join(FOLDERS[repo], filename)
def fake_tokenizer(repo, *args, **kwargs):
    calls.append(["AutoTokenizer.from_pretrained", repo, kwargs.get("revision"), list(args)])
    assert repo in (BASE, INSTRUCT, GPT2), repo
    return copy.deepcopy(TOK)
def fake_gpt2(repo, *args, **kwargs):
    calls.append(["GPT2LMHeadModel.from_pretrained", repo, kwargs.get("revision"), list(args)])
    assert repo == GPT2, repo
    return copy.deepcopy(HF[GPT2])
transformers.AutoConfig.from_pretrained = fake_config
huggingface_hub.hf_hub_download = fake_download       # the cell imports it from the module
transformers.AutoTokenizer.from_pretrained = fake_tokenizer
transformers.GPT2LMHeadModel.from_pretrained = fake_gpt2
mlcourse.net.skip_offline = lambda *a, **k: False      # take the online path

ns = {"torch": torch, "mlcourse": mlcourse, "L": L, "CourseGPT": CourseGPT}
out = {"calls": calls, "stdout": {}, "vocab": V, "answer": TOK.decode([ANSWER])}
for cid in ["c075f", "c075", "d12o2", "d12o4"]:
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            exec(cells[cid], ns)
    except BaseException:
        out["error"] = [cid, traceback.format_exc()]
        out["stdout"][cid] = buf.getvalue()
        break
    out["stdout"][cid] = buf.getvalue()

def max_diff(ours, hf, ids):
    with torch.no_grad():
        return float((ours(ids)[0] - hf(ids).logits).abs().max())

def greedy_text(hf, text, n):
    ids = torch.tensor([TOK.encode(text)])
    with torch.no_grad():
        for _ in range(n):
            ids = torch.cat([ids, hf(ids).logits[:, -1].argmax(-1, keepdim=True)], 1)
    return TOK.decode(ids[0])

if "error" not in out:
    probe = torch.tensor([TOK.encode("The meaning of life is to be, or not to be")])
    rnd = torch.randint(0, V, (2, 20), generator=torch.Generator().manual_seed(3))
    real, chat, gpt2 = ns["real"], ns["chat"], ns["gpt2"]
    out["llama_cfg"] = {k: getattr(real.cfg, k) for k in ("vocab_size", "block_size", "n_layer", "n_head",
                                                           "n_kv_head", "n_embd", "hidden_dim", "rope_theta",
                                                           "tie_embeddings")}
    out["tied_in_ours"] = real.lm_head.weight is real.embed_tokens.weight
    out["training_mode"] = [real.training, chat.training, gpt2.training]
    out["diff"] = {"base": max(max_diff(real, HF[BASE], probe), max_diff(real, HF[BASE], rnd)),
                   "instruct": max(max_diff(chat, HF[INSTRUCT], probe), max_diff(chat, HF[INSTRUCT], rnd)),
                   "gpt2": max(max_diff(gpt2, HF[GPT2], probe), max_diff(gpt2, HF[GPT2], rnd))}
    out["base_greedy_hf"] = greedy_text(HF[BASE], "The meaning of life is", 30)
    torch.manual_seed(0)                              # as the cell does before sampling
    ids = torch.tensor([TOK.encode("To be, or not to be:")])
    with torch.no_grad():
        for _ in range(40):
            nxt = sample_next(HF[GPT2](ids).logits[:, -1], temperature=0.8, top_p=0.9)
            ids = torch.cat([ids, nxt], 1)
    out["gpt2_sampled_hf"] = TOK.decode(ids[0])
    out["chat_greedy_hf"] = greedy_text(HF[INSTRUCT], ns["chat_prompt"], 3)[len(ns["chat_prompt"]):]
    out["reply_ids"] = ns["reply"]
    out["eos"], out["answer_id"] = EOS, ANSWER
print("RESULT " + json.dumps(out))
'''


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    for module in ("transformers", "tokenizers", "safetensors", "huggingface_hub"):
        if importlib.util.find_spec(module) is None:  # (not imported here: the child process does it)
            pytest.skip(f"{module} is not installed")
    cells = _cells()
    work = tmp_path_factory.mktemp("day12_online")
    env = {**os.environ, "MLCOURSE_PROFILE": "smoke", "MLCOURSE_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(work / "hf_home"), "HF_HUB_DISABLE_PROGRESS_BARS": "1",
           "TRANSFORMERS_VERBOSITY": "error", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(work)], input=json.dumps(cells), text=True,
                          capture_output=True, env=env, timeout=300, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"the driver failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    out = json.loads(lines[-1][len("RESULT "):])
    assert "error" not in out, f"notebook cell {out['error'][0]} failed:\n{out['error'][1]}\nits output: " \
                               f"{out['stdout'].get(out['error'][0])!r}"
    out["pinned"] = _pinned(cells)
    return out


def test_the_pinned_revisions_of_the_right_repositories_are_asked_for(run):
    pins = run["pinned"]
    assert all(SHA.fullmatch(p) for p in pins.values())
    base, gpt2, instruct = pins["c075"], pins["d12o2"], pins["d12o4"]
    assert run["calls"] == [
        ["AutoConfig.from_pretrained", BASE, base, []],
        ["hf_hub_download", BASE, base, ["model.safetensors"]],
        ["AutoTokenizer.from_pretrained", BASE, base, []],
        ["GPT2LMHeadModel.from_pretrained", GPT2, gpt2, []],
        ["AutoTokenizer.from_pretrained", GPT2, gpt2, []],
        ["AutoConfig.from_pretrained", INSTRUCT, instruct, []],
        ["hf_hub_download", INSTRUCT, instruct, ["model.safetensors"]],
        ["AutoTokenizer.from_pretrained", INSTRUCT, instruct, []],
    ]


def test_llama_from_hub_builds_our_llama_from_the_config_and_loads_every_weight(run):
    assert run["llama_cfg"] == {"vocab_size": run["vocab"], "block_size": 256, "n_layer": 2, "n_head": 4,
                                "n_kv_head": 2, "n_embd": 32, "hidden_dim": 64, "rope_theta": 100000.0,
                                "tie_embeddings": True}
    assert run["tied_in_ours"], "the head is the embedding table, as in SmolLM2"
    assert run["training_mode"] == [False, False, False], "the models come back in eval mode"
    for repo in (BASE, INSTRUCT):
        assert f"{repo}: 0 M parameters, all loaded (lm_head.weight *is* the embedding table: tied)\n" \
               in run["stdout"]["c075"] + run["stdout"]["d12o4"]
    # the same logits as the transformers models the checkpoints were written from
    assert run["diff"]["base"] < 1e-4 and run["diff"]["instruct"] < 1e-4, run["diff"]


def test_smollm2_base_generates_greedily_like_the_transformers_model(run):
    loaded, text = run["stdout"]["c075"].split("\n", 1)   # (the generated bytes may hold newlines)
    assert loaded.startswith(BASE)
    assert text == run["base_greedy_hf"] + "\n" and text.startswith("The meaning of life is")


def test_gpt2_weights_go_into_our_gpt_class(run):
    assert run["diff"]["gpt2"] < 1e-4, run["diff"]
    summary, text = run["stdout"]["d12o2"].split("\n", 1)
    assert summary == f"GPT-2 small in our GPT class: 0 M parameters, 2 layers, vocabulary {run['vocab']:,}"
    # top-p sampling with the cell's seed: the same draws as a sampling loop over the transformers model
    assert text == run["gpt2_sampled_hf"] + "\n" and text.startswith("To be, or not to be:")


def test_chat_cell_prompts_with_the_template_and_cuts_the_reply_at_eos(run):
    text = run["stdout"]["d12o4"]
    prompt = "<|im_start|>user\nWho wrote Romeo and Juliet?<|im_end|>\n<|im_start|>assistant\n"
    assert prompt + "\n" in text, "the printed prompt: the user turn, then the generation prompt"
    # the stand-in answers one token, then <|im_end|> for ever: the cell keeps only the answer
    assert run["chat_greedy_hf"] == run["answer"] + "<|im_end|><|im_end|>"
    assert run["reply_ids"] == [run["answer_id"]] and run["eos"] not in run["reply_ids"]
    assert text.endswith(f"reply: {run['answer']}\n") and "<|im_end|>" not in text.split("reply:")[1]
