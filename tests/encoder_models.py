"""Tiny random-weight classifiers and reward models, built in the test (no hub)."""

from __future__ import annotations

import string
from pathlib import Path

import torch
from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    BertTokenizerFast,
    LlamaConfig,
    LlamaForSequenceClassification,
    PreTrainedTokenizerFast,
)

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHAT_TEMPLATE = (
    "{% for m in messages %}[CLS] {{ m['role'] }} : {{ m['content'] }} [SEP] {% endfor %}"
)


def _wordpiece() -> Tokenizer:
    """Characters as word pieces: any lower-cased English text tokenizes without [UNK]."""
    pieces = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = SPECIALS + pieces + [f"##{p}" for p in string.ascii_lowercase + string.digits]
    tokenizer = Tokenizer(WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    return tokenizer


def bert_tokenizer() -> BertTokenizerFast:
    return BertTokenizerFast(
        tokenizer_object=_wordpiece(),
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=2048,
    )


def make_bert(folder: Path, labels: list[str] | None, num_labels: int, seed: int) -> Path:
    """A 2-layer BERT classifier; `labels=None` leaves the default LABEL_0, LABEL_1 names."""
    tokenizer = bert_tokenizer()
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=48,
        max_position_embeddings=2048,
        num_labels=num_labels,
        pad_token_id=tokenizer.pad_token_id,
    )
    if labels is not None:
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
    model = BertForSequenceClassification(config)
    with torch.no_grad():  # sharper outputs than the default init, so choices differ
        model.classifier.weight.mul_(20.0)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def make_llama_reward(folder: Path, seed: int) -> Path:
    """A 2-layer Llama with one output and a chat template: a decoder reward model."""
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_wordpiece(),
        unk_token="[UNK]",
        pad_token="[PAD]",
        eos_token="[SEP]",
        bos_token="[CLS]",
        model_max_length=2048,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        num_labels=1,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForSequenceClassification(config)
    with torch.no_grad():
        model.score.weight.mul_(20.0)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
