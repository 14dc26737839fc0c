from dataclasses import dataclass, field

import pytest

from vlt_mini.config import apply_overrides, check_profile, get_profile, save_config


@dataclass
class Inner:
    width: int = 16
    rate: float = 0.1
    name: str = "a"
    flag: bool = False
    sizes: tuple = (1, 2)


@dataclass
class Outer:
    inner: Inner = field(default_factory=Inner)
    epochs: int = 3


def test_overrides_nested_and_typed():
    config = apply_overrides(Outer(), ["inner.width=32", "--inner.rate=1", "inner.flag=true", "epochs=5",
                                      "inner.sizes=3,4,5", "inner.name=b"])
    assert config.inner.width == 32 and config.inner.rate == 1.0 and isinstance(config.inner.rate, float)
    assert config.inner.flag is True and config.epochs == 5 and config.inner.sizes == (3, 4, 5)
    assert config.inner.name == "b"
    assert Outer().inner.width == 16, "the original is not modified"


@pytest.mark.parametrize("override, message", [
    ("inner.depth=3", "unknown key 'depth'"),
    ("inner.width=wide", "expected int"),
    ("inner.flag=maybe", "expected a boolean"),
    ("epochs", "expected key=value"),
    ("epochs.x=1", "not a config section"),
])
def test_overrides_reject_bad_input(override, message):
    with pytest.raises(ValueError, match=message):
        apply_overrides(Outer(), [override])


def test_profiles(monkeypatch):
    assert check_profile("cpu") == "cpu"
    with pytest.raises(ValueError, match="choose one of tiny, cpu, colab, paper"):
        check_profile("huge")
    monkeypatch.delenv("VLT_MINI_PROFILE", raising=False)
    assert get_profile("cpu") == "cpu"
    monkeypatch.setenv("VLT_MINI_PROFILE", "tiny")
    assert get_profile("cpu") == "tiny"
    monkeypatch.setenv("VLT_MINI_PROFILE", "bogus")
    with pytest.raises(ValueError, match="VLT_MINI_PROFILE"):
        get_profile()


def test_save_config(tmp_path):
    save_config(Outer(), tmp_path / "run" / "config.json")
    text = (tmp_path / "run" / "config.json").read_text()
    assert '"width": 16' in text
    assert not list((tmp_path / "run").glob(".*tmp"))
