"""Each profile lives in ``vlt_mini.profiles``: every component's ``for_profile`` reads it, and sizes agree."""
import dataclasses

import pytest

from vlt_mini.data.mini_lasot import MiniLaSOTConfig
from vlt_mini.models.head import HeadConfig
from vlt_mini.models.losses import LossConfig
from vlt_mini.models.supernet import SupernetConfig
from vlt_mini.models.text_encoder import TextEncoderConfig
from vlt_mini.models.vlt import VLTConfig
from vlt_mini.profiles import PROFILES, SECTIONS, SETTINGS, crop_sizes, notebook_settings, profile_settings
from vlt_mini.search.evolution import SearchConfig
from vlt_mini.training.pairs import PairConfig
from vlt_mini.training.pretrain import PretrainConfig
from vlt_mini.training.trainer import TrainConfig, TrainingSetup

CONFIG_OF_SECTION = {"supernet": SupernetConfig, "head": HeadConfig, "pairs": PairConfig, "train": TrainConfig,
                     "search": SearchConfig, "text": TextEncoderConfig, "mini_lasot": MiniLaSOTConfig,
                     "pretrain": PretrainConfig}


def test_every_section_names_real_fields():
    assert set(CONFIG_OF_SECTION) == set(SECTIONS)
    for profile, sections in SETTINGS.items():
        assert set(sections) <= set(SECTIONS), profile
        for section, values in sections.items():
            fields = {f.name for f in dataclasses.fields(CONFIG_OF_SECTION[section])}
            assert set(values) <= fields, (profile, section, set(values) - fields)


@pytest.mark.parametrize("profile", PROFILES)
def test_sizes_derive_from_one_crop_pair(profile):
    template, search = crop_sizes(profile)
    setup = TrainingSetup.for_profile(profile)
    assert (setup.model.template_size, setup.model.search_size) == (template, search)
    assert (setup.pairs.template_size, setup.pairs.search_size) == (template, search)
    assert setup.train.loss.search_size == search == LossConfig.for_profile(profile).search_size
    assert HeadConfig.for_profile(profile).template_size == template
    assert VLTConfig.for_profile(profile).supernet == SupernetConfig.for_profile(profile)


def test_paper_profile_is_the_defaults():
    assert SupernetConfig.for_profile("paper") == SupernetConfig()
    assert HeadConfig.for_profile("paper") == HeadConfig()
    assert TrainConfig.for_profile("paper") == TrainConfig()
    assert PairConfig.for_profile("paper") == PairConfig()
    assert MiniLaSOTConfig.for_profile("paper") == MiniLaSOTConfig()
    assert PretrainConfig.for_profile("paper") == PretrainConfig()
    assert dataclasses.replace(SearchConfig.for_profile("paper"), profile="paper") == SearchConfig()
    assert TextEncoderConfig.for_profile("paper").model == "bert-base-uncased"
    assert TextEncoderConfig.for_profile("cpu") == TextEncoderConfig(), "the small profiles use the offline default"


def test_profile_settings_is_a_copy_and_rejects_unknowns():
    profile_settings("cpu", "train")["epochs"] = -1
    assert TrainConfig.for_profile("cpu").epochs == 10
    with pytest.raises(ValueError, match="unknown profile 'laptop'"):
        profile_settings("laptop", "train")
    with pytest.raises(ValueError, match="unknown profile section"):
        profile_settings("cpu", "optimiser")


def test_notebook_settings_apply_cleanly():
    from vlt_mini.config import apply_overrides

    for profile in PROFILES:
        settings = notebook_settings(profile)
        setup = apply_overrides(TrainingSetup.for_profile(profile),
                                [*settings.training_overrides, *settings.supernet_overrides])
        assert setup.train.epochs >= 1
        SearchConfig.for_profile(profile, **settings.search_overrides)
    assert notebook_settings("tiny").recompute_ablation and not notebook_settings("cpu").recompute_ablation
