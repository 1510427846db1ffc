"""The pointer-generator copy head (ModelConfig.copy_head; Transformer.project) and the slot-token ban."""

import torch

from codegen_lib.config import ModelConfig
from codegen_lib.decode import Stepper, beam_search, greedy_decode
from codegen_lib.model import build_model

V = 40


def _model(copy_head=True, seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig.preset("tiny", src_vocab_size=V, tgt_vocab_size=V, tie_embeddings=True, norm_first=True,
                             copy_head=copy_head)
    return build_model(cfg).eval()


def _batch():
    g = torch.Generator().manual_seed(1)
    src = torch.randint(4, V, (3, 9), generator=g)
    src[0, 6:] = 0  # padding
    tgt = torch.randint(4, V, (3, 7), generator=g)
    return src, tgt


def test_probabilities_sum_to_one():
    model = _model()
    src, tgt = _batch()
    scores = model(src, tgt)  # (B, T, V) log-probabilities
    assert scores.shape == (3, 7, V)
    torch.testing.assert_close(scores.exp().sum(-1), torch.ones(3, 7), atol=1e-5, rtol=0)


def test_gate_fixed_at_one_equals_the_plain_model():
    plain, copy = _model(copy_head=False), _model(copy_head=True)
    copy.load_state_dict({**plain.state_dict(), **{k: v for k, v in copy.state_dict().items() if "copy_gate" in k}})
    with torch.no_grad():
        copy.copy_gate.weight.zero_()
        copy.copy_gate.bias.fill_(50.0)  # sigmoid(50) == 1 in float32: p_gen fixed at 1
    src, tgt = _batch()
    torch.testing.assert_close(copy(src, tgt), torch.log_softmax(plain(src, tgt), -1), atol=1e-5, rtol=1e-5)


def test_gate_at_zero_copies_only_source_tokens():
    model = _model()
    with torch.no_grad():
        model.copy_gate.weight.zero_()
        model.copy_gate.bias.fill_(-50.0)  # p_gen == 0: every token comes from the source
    src, tgt = _batch()
    probs = model(src, tgt).exp()  # (B, T, V)
    for b in range(3):
        outside = torch.ones(V, dtype=torch.bool)
        outside[src[b][src[b] != 0]] = False
        assert probs[b][:, outside].max() < 1e-6


def _dense_mixture(model, src, tgt):
    """The pointer-generator written out over the whole vocabulary: the reference for project()."""
    src_mask, tgt_mask = model.generate_mask(src, tgt)
    memory = model.encode(src, src_mask)
    hidden, _, cross_w = model.decode(tgt, memory, src_mask, tgt_mask, return_attention=True)
    cross = cross_w[-1].mean(dim=1)  # (B, T, S)
    p_vocab = torch.softmax(model.fc(hidden), -1)  # (B, T, V)
    p_gen = torch.sigmoid(model.copy_gate(hidden))  # (B, T, 1)
    index = src.unsqueeze(1).expand(-1, cross.size(1), -1)  # (B, T, S)
    p_copy = torch.zeros_like(p_vocab).scatter_add_(-1, index, cross)  # (B, T, V)
    return (p_gen * p_vocab + (1 - p_gen) * p_copy).log()


def test_project_equals_the_dense_mixture_in_value_and_gradient():
    model = _model(seed=5).train()
    model.dropout.p = 0.0
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    src, tgt = _batch()
    src[1, 3] = src[1, 5] = src[1, 7]  # a token three times in one source: its copy mass is summed
    target = torch.randint(4, V, tgt.shape, generator=torch.Generator().manual_seed(2))
    grads = []
    for fn in (lambda: model(src, tgt), lambda: _dense_mixture(model, src, tgt)):
        model.zero_grad()
        scores = fn()
        torch.nn.functional.nll_loss(scores.reshape(-1, V), target.reshape(-1)).backward()
        grads.append((scores.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]))
    torch.testing.assert_close(grads[0][0], grads[1][0], atol=1e-5, rtol=1e-5)
    for a, b in zip(grads[0][1], grads[1][1]):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_kv_cache_and_full_decode_give_the_same_ids():
    model = _model(seed=3)
    src, _ = _batch()
    a = greedy_decode(model, src, max_new_tokens=12, use_cache=True)
    b = greedy_decode(model, src, max_new_tokens=12, use_cache=False)
    assert torch.equal(a, b)
    c = beam_search(model, src, beam_size=3, max_new_tokens=10, use_cache=True)
    d = beam_search(model, src, beam_size=3, max_new_tokens=10, use_cache=False)
    assert torch.equal(c, d)


def test_return_attention_scores_match_plain_forward():
    model = _model()
    src, tgt = _batch()
    scores, attn = model(src, tgt, return_attention=True)
    torch.testing.assert_close(scores, model(src, tgt), atol=1e-5, rtol=1e-5)
    assert len(attn["cross"]) == model.config.num_layers


def test_slot_ban_allows_only_slots_in_the_source():
    model = _model(copy_head=False)
    slot_ids = [30, 31, 32]
    src = torch.tensor([[5, 30, 6, 0], [7, 8, 9, 10]])
    with torch.no_grad():
        model.fc.bias.zero_()
        model.fc.bias[slot_ids] = 100.0  # the model wants a slot token at every step
    stepper = Stepper(model, src, True, slot_ids)
    scores = stepper.next_logits(torch.ones(2, 1, dtype=torch.long))
    assert scores[0].argmax().item() == 30  # the slot its source holds
    assert torch.isinf(scores[0, [31, 32]]).all() and torch.isinf(scores[1, slot_ids]).all()
    ids = greedy_decode(model, src, max_new_tokens=5, slot_ids=slot_ids)
    assert not set(ids[1].tolist()) & set(slot_ids) and set(ids[0].tolist()) & set(slot_ids) <= {30}


def test_generate_canonicalizes_and_restores_for_a_slots_model():
    from codegen_lib.decode import generate
    from codegen_lib.slots import SLOT_TOKENS
    from codegen_lib.tokenizer import train_tokenizer

    tok = train_tokenizer(["sort the list by the key\n", "def f(x):\n    return x\n"] * 20, vocab_size=300,
                          added_tokens=SLOT_TOKENS)
    torch.manual_seed(0)
    cfg = ModelConfig.preset("tiny", src_vocab_size=tok.vocab_size, tgt_vocab_size=tok.vocab_size,
                             copy_head=True, slots=True)
    model = build_model(cfg)
    var0 = tok.encode("var_0")
    assert len(var0) == 1
    with torch.no_grad():
        model.fc.bias.zero_()
        model.fc.bias[var0[0]] = 100.0  # the model wants var_0 at every step
    out = generate(model, tok, ["sort the list `people`", "sort the list"], max_new_tokens=1)
    assert out[0] == "people"  # var_0 was allowed (the request has it) and restored
    assert "var_0" not in out[1] and "people" not in out[1]  # banned: the request had no slot
