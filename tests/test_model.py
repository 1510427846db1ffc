"""The encoder-decoder Transformer, its masks, attention collection and KV cache (chapter 06)."""

import pytest
import torch
import torch.nn.functional as F

from codegen_lib.config import ModelConfig
from codegen_lib.model import KVCache, Transformer, build_model

V = 40


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one thread is faster, and far faster when other processes share the CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(**overrides):
    torch.manual_seed(0)
    cfg = ModelConfig.preset("tiny", src_vocab_size=V, tgt_vocab_size=V, **overrides)
    return build_model(cfg)


def batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, V, (3, 9), generator=g)
    src[1, 6:] = 0  # padded source
    tgt = torch.randint(4, V, (3, 7), generator=g)
    tgt[:, 0] = 1  # <bos>
    tgt[2, 5:] = 0  # padded target
    return src, tgt


def test_forward_shape_and_config():
    model = tiny()
    src, tgt = batch()
    assert model(src, tgt).shape == (3, 7, V)
    assert model.config == ModelConfig.preset("tiny", src_vocab_size=V, tgt_vocab_size=V)
    assert model.generator is model.fc
    assert model.positional_encoding.pe.shape[1] == max(model.config.max_src_len, model.config.max_tgt_len)
    plain = Transformer(V, V, 32, 2, 2, 64, 50, 0.1, pad_id=0)
    assert plain.config.max_src_len == plain.config.max_tgt_len == 50
    assert not any(k.startswith("generator") for k in model.state_dict())


def test_generate_mask():
    model = tiny()
    src, tgt = batch()
    src_mask, tgt_mask = model.generate_mask(src, tgt)
    assert src_mask.dtype == tgt_mask.dtype == torch.bool
    assert src_mask.shape == (3, 1, 1, 9) and tgt_mask.shape == (3, 1, 7, 7)
    assert src_mask[1, 0, 0].tolist() == [True] * 6 + [False] * 3
    assert torch.equal(tgt_mask[0, 0], torch.ones(7, 7, dtype=torch.bool).tril())
    assert not tgt_mask[2, 0, 6, 5] and tgt_mask[2, 0, 6, 4]  # pad keys blocked, earlier tokens visible


def test_configurable_pad_id():
    torch.manual_seed(0)
    model = Transformer(V, V, 32, 2, 1, 64, 20, 0.0, pad_id=5).eval()
    src, tgt = batch()
    src_mask, _ = model.generate_mask(src, tgt)
    assert torch.equal(src_mask[:, 0, 0], src != 5)


def test_return_attention_in_bertviz_format():
    model = tiny().eval()
    src, tgt = batch()
    logits, att = model(src, tgt, return_attention=True)
    assert torch.allclose(logits, model(src, tgt), atol=1e-5)
    assert set(att) == {"encoder", "decoder", "cross"}
    n, h = model.config.num_layers, model.config.num_heads
    shapes = {"encoder": (3, h, 9, 9), "decoder": (3, h, 7, 7), "cross": (3, h, 7, 9)}
    for name, layers in att.items():
        assert len(layers) == n
        for w in layers:
            assert w.shape == shapes[name]
            assert torch.allclose(w.sum(-1), torch.ones(w.shape[:-1]), atol=1e-5)
    assert torch.all(att["cross"][0][1, ..., 6:] == 0)


def test_fast_and_teaching_paths_give_the_same_logits():
    model = tiny().eval()
    src, tgt = batch()
    fast = model(src, tgt)
    model.set_fast_attention(False)
    assert torch.allclose(model(src, tgt), fast, atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
def test_causal_decoder_cannot_see_the_future(norm_first):
    model = tiny(norm_first=norm_first).eval()
    src, tgt = batch()
    t = 3
    changed = tgt.clone()
    changed[:, t + 1 :] = torch.randint(4, V, changed[:, t + 1 :].shape)
    before, after = model(src, tgt), model(src, changed)
    assert torch.allclose(before[:, : t + 1], after[:, : t + 1], atol=1e-5)
    assert not torch.allclose(before[:, t + 1 :], after[:, t + 1 :], atol=1e-3)  # the change was visible


def test_source_padding_changes_nothing():
    model = tiny().eval()
    src, tgt = batch()
    before = model(src, tgt)
    # more padding columns
    longer = torch.cat([src, torch.zeros(3, 4, dtype=torch.long)], dim=1)
    assert torch.allclose(model(longer, tgt), before, atol=1e-5)
    # a different vector for <pad> (the ids are pad, so nothing may read them)
    with torch.no_grad():
        model.encoder_embedding.weight[0] += 3.0
    assert torch.allclose(model(src, tgt), before, atol=1e-5)
    # a sanity check that the test can fail: changing a real source token does change the logits
    src2 = src.clone()
    src2[1, 2] = (src2[1, 2] + 1 - 4) % (V - 4) + 4
    assert not torch.allclose(model(src2, tgt)[1], before[1], atol=1e-4)


@pytest.mark.parametrize("overrides", [{}, {"norm_first": True, "tie_embeddings": True}])
def test_gradients_reach_every_parameter(overrides):
    model = tiny(**overrides).train()
    src, tgt = batch()
    logits = model(src, tgt)
    F.cross_entropy(logits.reshape(-1, V), tgt.roll(-1, 1).reshape(-1), ignore_index=0).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert p.grad.abs().sum() > 0, name


def test_tied_embeddings_share_one_matrix():
    untied, tied = tiny(), tiny(tie_embeddings=True)
    assert tied.fc.weight is tied.decoder_embedding.weight is tied.encoder_embedding.weight
    n_untied = sum(p.numel() for p in untied.parameters())
    n_tied = sum(p.numel() for p in tied.parameters())
    assert n_untied - n_tied == 2 * V * 32
    # tied embeddings enter at unit scale: std 1/sqrt(D) times sqrt(D)
    assert tied.decoder_embedding.weight.std().item() == pytest.approx(32**-0.5, rel=0.2)
    assert tied.embed_scale == pytest.approx(32**0.5)


def test_seed_parameter_count_equals_the_formula():
    v, d, h, layers, d_ff = 8000, 128, 8, 6, 1024
    model = build_model(ModelConfig.preset("seed", src_vocab_size=v, tgt_vocab_size=v))
    mha = 4 * (d * d + d)  # W_q, W_k, W_v, W_o with biases
    ffn = (d * d_ff + d_ff) + (d_ff * d + d)  # fc1, fc2
    norm = 2 * d  # LayerNorm weight and bias
    encoder_layer = mha + ffn + 2 * norm
    decoder_layer = 2 * mha + ffn + 3 * norm  # self- and cross-attention
    embeddings = 2 * v * d  # source and target
    output = d * v + v  # fc
    expected = embeddings + layers * (encoder_layer + decoder_layer) + output
    assert sum(p.numel() for p in model.parameters()) == expected == 7_436_096  # 7.4M
    assert model.config.num_heads == h


def test_length_limits_raise_clear_errors():
    model = build_model(ModelConfig.preset("tiny", src_vocab_size=V, tgt_vocab_size=V, max_src_len=8,
                                           max_tgt_len=12))
    with pytest.raises(ValueError, match="source length 9 exceeds max_src_len 8"):
        model(torch.ones(1, 9, dtype=torch.long), torch.ones(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="target length 13 exceeds max_tgt_len 12"):
        model(torch.ones(1, 8, dtype=torch.long), torch.ones(1, 13, dtype=torch.long))


@pytest.mark.parametrize("norm_first", [False, True])
def test_incremental_decoding_with_cache_matches_full_forward(norm_first):
    model = tiny(norm_first=norm_first).eval()
    src, tgt = batch()
    tgt[2, 5:] = 7  # no target padding while decoding
    full = model(src, tgt)
    src_mask = (src != 0)[:, None, None, :]
    memory = model.encode(src, src_mask)
    cache = model.new_cache()
    assert isinstance(cache, KVCache) and cache.length == 0
    pieces = [model.fc(model.decode(tgt[:, :3], memory, src_mask, cache=cache))]  # a 3-token prefix at once
    assert cache.length == 3
    for t in range(3, 7):
        pieces.append(model.fc(model.decode(tgt[:, t : t + 1], memory, src_mask, cache=cache)))
    assert cache.length == 7
    assert torch.allclose(torch.cat(pieces, dim=1), full, atol=1e-5)


def test_cache_reorder_follows_beams():
    model = tiny().eval()
    src, tgt = batch()
    tgt[2, 5:] = 7
    src_mask = (src != 0)[:, None, None, :]
    memory = model.encode(src, src_mask)
    cache = model.new_cache()
    model.decode(tgt[:, :4], memory, src_mask, cache=cache)
    order = torch.tensor([2, 0, 0])
    cache.reorder(order)
    step = model.fc(model.decode(tgt[order, 4:5], memory[order], src_mask[order], cache=cache))
    assert torch.allclose(step[:, 0], model(src[order], tgt[order, :5])[:, 4], atol=1e-5)


def test_tiny_model_overfits_one_batch():
    torch.manual_seed(0)
    model = build_model(ModelConfig.preset("tiny", src_vocab_size=24, tgt_vocab_size=24, dropout=0.0))
    g = torch.Generator().manual_seed(1)
    src = torch.randint(4, 24, (4, 8), generator=g)
    code = torch.randint(4, 24, (4, 8), generator=g)
    tgt_in = torch.cat([torch.ones(4, 1, dtype=torch.long), code], dim=1)
    tgt_out = torch.cat([code, torch.full((4, 1), 2)], dim=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(80):
        loss = F.cross_entropy(model(src, tgt_in).reshape(-1, 24), tgt_out.reshape(-1), ignore_index=0)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first > 2.5
    assert loss.item() < 0.05


def test_tied_model_round_trips_through_safetensors(tmp_path):
    from safetensors.torch import load_model, save_model

    model = tiny(norm_first=True, tie_embeddings=True).eval()
    save_model(model, str(tmp_path / "model.safetensors"))
    torch.manual_seed(99)
    other = build_model(model.config).eval()
    load_model(other, str(tmp_path / "model.safetensors"))
    assert other.fc.weight is other.decoder_embedding.weight  # still tied after loading
    src, tgt = batch()
    assert torch.equal(other(src, tgt), model(src, tgt))
