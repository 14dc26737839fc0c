"""Dataset readers: LaSOT (both layouts), mini-LaSOT, TNL2K, OTB / OTB99-LANG, GOT-10k, on tiny folders built here
and on the real annotation files in ../shared; malformed input must name the file (and line)."""
from __future__ import annotations

import random
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from vlt_mini.data import DataFormatError, LASOT_ATTRIBUTES, open_dataset
from vlt_mini.data import otb as otb_module
from vlt_mini.data import textio
from vlt_mini.data.got10k import open_got10k
from vlt_mini.data.lasot import open_lasot, open_mini_lasot
from vlt_mini.data.otb import open_otb, open_otb99_lang
from vlt_mini.data.tnl2k import open_tnl2k

# --------------------------------------------------------------------------------------------- fixture builders


def at(path: Path, message: str) -> str:
    """A pattern for an error that starts by naming ``path`` (and line), then says ``message``."""
    return re.escape(str(path)) + message


def write_frames(folder: Path, numbers, pattern: str = "{:08d}.jpg") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number in numbers:
        image = np.full((8, 10, 3), number % 256, dtype=np.uint8)
        assert cv2.imwrite(str(folder / pattern.format(number)), image)


def boxes_text(count: int, separator: str = ",", start: int = 1) -> str:
    return "".join(separator.join(str(v) for v in (start + i, 2, 3 + i, 4)) + "\n" for i in range(count))


def make_lasot_video(root: Path, name: str, frames: int, occluded=(), out_of_view=(), sentence="a red cat") -> Path:
    folder = root / name.rsplit("-", 1)[0] / name
    write_frames(folder / "img", range(1, frames + 1))
    (folder / "groundtruth.txt").write_text(boxes_text(frames))
    flags = lambda marked: ",".join("1" if i in marked else "0" for i in range(frames)) + "\n"  # noqa: E731
    (folder / "full_occlusion.txt").write_text(flags(occluded))
    (folder / "out_of_view.txt").write_text(flags(out_of_view))
    (folder / "nlp.txt").write_text(sentence + "\n")
    return folder


@pytest.fixture
def lasot_root(tmp_path) -> Path:
    root = tmp_path / "LaSOT"
    make_lasot_video(root, "cat-1", 4, occluded={1}, out_of_view={2}, sentence="a white cat on the sofa")
    make_lasot_video(root, "cat-2", 3)
    make_lasot_video(root, "dog-1", 5, sentence="brown dog running")
    make_lasot_video(root, "dog-2", 2)
    (root / "testing_set.txt").write_text("dog-1\ncat-1\n")
    (root / "validation_set.txt").write_text("dog-2\n")
    (root / "att").mkdir()
    for name in ("cat-1", "cat-2", "dog-1", "dog-2"):
        (root / "att" / f"{name}.txt").write_text(",".join("1" if k % 3 == 0 else "0" for k in range(14)) + "\n")
    return root


@pytest.fixture
def toolkit_root(tmp_path) -> Path:
    root = tmp_path / "annos"
    for folder in ("groundtruth", "absent", "nlp", "att"):
        (root / folder).mkdir(parents=True)
    for name, frames, absent in (("bird-3", 4, {3}), ("car-7", 3, set())):
        (root / "groundtruth" / f"{name}.txt").write_text(boxes_text(frames))
        (root / "absent" / f"{name}.txt").write_text("".join("1\n" if i in absent else "0\n" for i in range(frames)))
        (root / "nlp" / f"{name}.txt").write_text(f"the {name.split('-')[0]} in front")
        (root / "att" / f"{name}.txt").write_text("1,0,0,0,0,0,0,0,0,0,0,0,0,1\n")
    (root / "testing_set.txt").write_text("car-7\nbird-3")
    return root


# --------------------------------------------------------------------------------------------- LaSOT, dataset layout


def test_lasot_dataset_layout_splits_visibility_attributes(lasot_root):
    test = open_lasot(lasot_root, "test")
    assert test.names == ["dog-1", "cat-1"]  # the order of testing_set.txt
    cat = test["cat-1"]
    assert len(cat) == 4 and cat.sentence == "a white cat on the sofa"
    assert cat.visible.tolist() == [True, False, False, True]  # full occlusion at 2, out of view at 3
    assert cat.ground_truth[1].tolist() == [2, 2, 4, 4]
    assert list(cat.attributes) == list(LASOT_ATTRIBUTES) and cat.attributes["IV"] and not cat.attributes["POC"]
    assert [path.name for path in cat.frame_paths] == ["00000001.jpg", "00000002.jpg", "00000003.jpg", "00000004.jpg"]
    assert cat.frame_paths[2] == lasot_root / "cat" / "cat-1" / "img" / "00000003.jpg"
    assert cat.frame(3)[0, 0, 0] == 4  # frames are read on demand
    # no training_set.txt: train = every video neither in the test nor in the validation list
    assert open_lasot(lasot_root, "train").names == ["cat-2"]
    assert open_lasot(lasot_root, "val").names == ["dog-2"]
    assert open_lasot(lasot_root, "all").names == ["cat-1", "cat-2", "dog-1", "dog-2"]
    (lasot_root / "training_set.txt").write_text("dog-2\ncat-2\n")
    assert open_lasot(lasot_root, "train").names == ["dog-2", "cat-2"]


def test_lasot_subset_and_mini_lasot(lasot_root):
    subset = open_lasot(lasot_root, "test", sequences=["cat-1"])
    assert subset.names == ["cat-1"]
    with pytest.raises(KeyError, match="cat-2"):
        open_lasot(lasot_root, "test", sequences=["cat-2"])
    mini = open_mini_lasot(lasot_root, "val")
    assert mini.name == "mini-lasot" and mini[0].dataset == "mini-lasot" and mini.names == ["dog-2"]
    with pytest.raises(FileNotFoundError, match="vlt-mini data mini-lasot"):
        open_mini_lasot(lasot_root / "nowhere", "test")


def test_lasot_flat_layout_without_class_folders(tmp_path):
    root = tmp_path / "flat"
    root.mkdir()
    make_lasot_video(tmp_path / "src", "kite-4", 2).rename(root / "kite-4")
    (root / "testing_set.txt").write_text("kite-4\n")
    assert open_lasot(root).names == ["kite-4"]


def test_lasot_frame_count_disagreement_names_folder_and_counts(lasot_root):
    (lasot_root / "cat" / "cat-1" / "img" / "00000004.jpg").unlink()
    with pytest.raises(DataFormatError, match=r"cat-1[/\\]img: 3 frames but groundtruth.txt has 4 boxes"):
        open_lasot(lasot_root, "test")


def test_lasot_malformed_files_name_file_and_line(lasot_root):
    boxes = lasot_root / "dog" / "dog-1" / "groundtruth.txt"
    boxes.write_text("1,2,3,4\n1,2,x,4\n1,2,3,4\n1,2,3,4\n1,2,3,4\n")
    with pytest.raises(DataFormatError, match=at(boxes, ":2: not a number: 'x'")):
        open_lasot(lasot_root, "test")
    boxes.write_text(boxes_text(5))
    occlusion = lasot_root / "dog" / "dog-1" / "full_occlusion.txt"
    occlusion.write_text("0,0,0,0\n")
    with pytest.raises(DataFormatError, match=at(occlusion, ": 4 full-occlusion flags but groundtruth.txt has 5")):
        open_lasot(lasot_root, "test")
    occlusion.write_text("0,0,2,0,0\n")
    with pytest.raises(DataFormatError, match=at(occlusion, ":1: value 3: flag 2 is not one of 0, 1")):
        open_lasot(lasot_root, "test")
    occlusion.write_text("0,0,0,0,0\n")
    (lasot_root / "dog" / "dog-1" / "nlp.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"dog-1[/\\]nlp.txt"):
        open_lasot(lasot_root, "test")


def test_lasot_missing_lists_and_unknown_folders(lasot_root, tmp_path):
    (lasot_root / "testing_set.txt").unlink()
    with pytest.raises(FileNotFoundError, match="does not ship the list of its 280 test videos"):
        open_lasot(lasot_root, "test")
    with pytest.raises(FileNotFoundError, match="cannot tell LaSOT's training videos"):
        open_lasot(lasot_root, "train")
    (lasot_root / "testing_set.txt").write_text("cat-1\nzebra-9\n")
    with pytest.raises(FileNotFoundError, match=r"'zebra-9' is listed"):
        open_lasot(lasot_root, "test")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match=r"(?s)not a LaSOT folder.*dataset layout.*toolkit annotation layout"):
        open_lasot(tmp_path / "empty")


# --------------------------------------------------------------------------------------------- LaSOT, toolkit layout


def test_lasot_toolkit_layout(toolkit_root):
    dataset = open_lasot(toolkit_root)
    assert dataset.names == ["car-7", "bird-3"]
    bird = dataset["bird-3"]
    assert bird.frame_paths == [] and not bird.has_frames and len(bird) == 4
    assert bird.visible.tolist() == [True, True, True, False]
    assert bird.sentence == "the bird in front" and bird.attributes["IV"] and bird.attributes["ARC"]
    assert sum(bird.attributes.values()) == 2
    with pytest.raises(ValueError, match="test split only"):
        open_lasot(toolkit_root, "train")


def test_lasot_toolkit_layout_malformed(toolkit_root):
    absent = toolkit_root / "absent" / "bird-3.txt"
    absent.write_text("0\n0\n1\n")
    with pytest.raises(DataFormatError, match=at(absent, ": 3 absent flags but bird-3.txt has 4 boxes")):
        open_lasot(toolkit_root)
    absent.write_text("0\n0\n7\n0\n")
    with pytest.raises(DataFormatError, match=at(absent, ":3: flag 7")):
        open_lasot(toolkit_root)
    absent.write_text("0\n0\n0\n0\n")
    attributes = toolkit_root / "att" / "car-7.txt"
    attributes.write_text("1,0,1\n")
    with pytest.raises(DataFormatError, match=at(attributes, ": expected 14 attribute flags")):
        open_lasot(toolkit_root)
    for file in (toolkit_root / "absent").iterdir():
        file.unlink()
    (toolkit_root / "absent").rmdir()
    with pytest.raises(FileNotFoundError, match=at(toolkit_root / "absent", " not found: the toolkit annotation layout")):
        open_lasot(toolkit_root)


def test_open_dataset_registry_and_environment(toolkit_root, monkeypatch):
    assert len(open_dataset("lasot", toolkit_root)) == 2
    assert open_dataset("lasot", toolkit_root, sequences=["bird-3"]).names == ["bird-3"]
    monkeypatch.delenv("VLT_MINI_LASOT", raising=False)
    with pytest.raises(ValueError, match=r"no root given for dataset 'lasot'.*\$VLT_MINI_LASOT"):
        open_dataset("lasot")
    monkeypatch.setenv("VLT_MINI_LASOT", str(toolkit_root))
    assert open_dataset("lasot").names == ["car-7", "bird-3"]
    with pytest.raises(FileNotFoundError, match="dataset root for 'tnl2k' not found"):
        open_dataset("tnl2k", toolkit_root / "missing")


# --------------------------------------------------------------------------------------------- TNL2K


def make_tnl2k_video(parent: Path, name: str, rows: list[str], sentence: str, extension: str = "jpg") -> Path:
    folder = parent / name
    write_frames(folder / "imgs", range(1, len(rows) + 1), "{:05d}." + extension)
    (folder / "groundtruth.txt").write_bytes("\r\n".join(rows).encode())  # CRLF, no final newline, as in the release
    (folder / "language.txt").write_text(sentence)
    return folder


def test_tnl2k_release_layout_and_absent_rows(tmp_path):
    root = tmp_path / "TNL2K"
    rows = ["5,6,7,8", "0,0,0,0", "-3,6,7,8"]
    make_tnl2k_video(root / "TNL2K_test_subset", "Fight_video_02-Done", rows, "the man in red ")
    make_tnl2k_video(root / "TNL2K_train_subset_p1" / "TNL2K_train_subset_p1", "Cat_1", ["1,1,2,2"] * 12, "a cat", "png")
    test = open_tnl2k(root, "test")
    video = test["Fight_video_02-Done"]
    assert video.sentence == "the man in red" and video.visible.tolist() == [True, False, True]
    assert video.ground_truth[2, 0] == -3
    train = open_tnl2k(root, "train")
    assert train.names == ["Cat_1"] and train[0].frame_paths[9].name == "00010.png"
    assert open_tnl2k(root, "all").names == ["Cat_1", "Fight_video_02-Done"]
    assert open_tnl2k(root / "TNL2K_test_subset").names == ["Fight_video_02-Done"]  # root = the split folder
    with pytest.raises(ValueError, match="test folder"):
        open_tnl2k(root / "TNL2K_test_subset", "train")


def test_tnl2k_missing_frames_and_mismatch(tmp_path):
    folder = make_tnl2k_video(tmp_path, "Boat", ["1,2,3,4", "1,2,3,4"], "the boat")
    (folder / "imgs" / "00002.jpg").unlink()
    with pytest.raises(DataFormatError, match=r"Boat[/\\]imgs: 1 frames but groundtruth.txt has 2 boxes"):
        open_tnl2k(tmp_path)
    for frame in (folder / "imgs").iterdir():
        frame.unlink()
    (folder / "imgs").rmdir()
    with pytest.raises(FileNotFoundError, match="require_frames=False"):
        open_tnl2k(tmp_path)
    assert open_tnl2k(tmp_path, require_frames=False)[0].frame_paths == []
    (folder / "language.txt").write_text("  \n")
    with pytest.raises(DataFormatError, match=at(folder / 'language.txt', ": empty sentence file")):
        open_tnl2k(tmp_path, require_frames=False)


# --------------------------------------------------------------------------------------------- OTB / OTB99-LANG


def make_otb_video(parent: Path, name: str, frames: int, separator: str, targets=(None,), first: int = 1) -> Path:
    folder = parent / name
    write_frames(folder / "img", range(first, first + frames), "{:04d}.jpg")
    for target in targets:
        file = "groundtruth_rect.txt" if target is None else f"groundtruth_rect.{target}.txt"
        (folder / file).write_text(boxes_text(frames, separator))
    return folder


def test_otb_separators_targets_and_frame_ranges(tmp_path, monkeypatch):
    root = tmp_path / "OTB100"
    make_otb_video(root, "Basketball", 3, ",")
    make_otb_video(root, "Jogging", 2, "\t", targets=(1, 2))
    make_otb_video(root, "Tiny", 6, " ")
    (root / "Tiny" / "groundtruth_rect.txt").write_text(boxes_text(3, "  "))  # annotated: frames 3..5 only
    with pytest.raises(DataFormatError, match=r"Tiny[/\\]img: 6 frames but groundtruth_rect.txt has 3 boxes"):
        open_otb(root)
    monkeypatch.setitem(otb_module.FRAME_RANGES, "Tiny", (3, 5))
    dataset = open_otb(root)
    assert dataset.names == ["Basketball", "Jogging-1", "Jogging-2", "Tiny"]
    assert [path.name for path in dataset["Tiny"].frame_paths] == ["0003.jpg", "0004.jpg", "0005.jpg"]
    assert dataset["Jogging-2"].ground_truth.tolist() == [[1, 2, 3, 4], [2, 2, 4, 4]]
    assert dataset["Basketball"].visible.all() and dataset["Basketball"].sentence is None
    assert open_dataset("otb", root).split == "test"  # OTB is test-only: 'test' is 'all'
    single = open_otb(root / "Basketball")  # root = one video folder
    assert single.names == ["Basketball"] and len(single[0]) == 3
    with pytest.raises(ValueError, match="otb99-lang"):
        open_otb(root, "train")


def test_otb99_lang_query_split(tmp_path):
    root = tmp_path / "OTB99-LANG"
    make_otb_video(root / "OTB_videos", "Biker", 2, ",")
    make_otb_video(root / "OTB_videos", "Skating2", 2, ",", targets=(1, 2))
    (root / "OTB_query_train").mkdir(parents=True)
    (root / "OTB_query_test").mkdir()
    (root / "OTB_query_train" / "Biker.txt").write_text("the boy riding a bike\n")
    (root / "OTB_query_test" / "Skating2-1.txt").write_text("the woman skating  in white\n")
    train, test = open_otb99_lang(root, "train"), open_otb99_lang(root, "test")
    assert train.names == ["Biker"] and train[0].sentence == "the boy riding a bike"
    assert test.names == ["Skating2-1"] and test[0].sentence == "the woman skating in white"
    assert open_otb99_lang(root, "all").names == ["Biker", "Skating2-1"]
    (root / "OTB_query_test" / "Ghost.txt").write_text("nobody\n")
    with pytest.raises(FileNotFoundError, match=r"Ghost.txt: no OTB video folder"):
        open_otb99_lang(root, "test")


def test_otb_malformed_line(tmp_path):
    folder = make_otb_video(tmp_path, "Car4", 3, "\t")
    (folder / "groundtruth_rect.txt").write_text("1\t2\t3\t4\n1\t2\t3\n1\t2\t3\t4\n")
    with pytest.raises(DataFormatError, match=at(folder / 'groundtruth_rect.txt', ":2: expected 4 numbers, found 3")):
        open_otb(tmp_path)


# --------------------------------------------------------------------------------------------- GOT-10k

META = (
    "[METAINFO]\nurl: https://youtu.be/x\n"
    "object_class: dove\nmotion_class: walking\nmajor_class: bird\nroot_class: animal\n"
)


def make_got10k_video(split_folder: Path, name: str, frames: int, absent=(), covers=None, meta=META) -> Path:
    folder = split_folder / name
    write_frames(folder, range(1, frames + 1))
    (folder / "groundtruth.txt").write_text(boxes_text(frames))
    (folder / "absence.label").write_text("".join("1\n" if i in absent else "0\n" for i in range(frames)))
    (folder / "cover.label").write_text("".join(f"{c}\n" for c in (covers or [8] * frames)))
    (folder / "meta_info.ini").write_text(meta)
    return folder


def test_got10k_val_and_test(tmp_path):
    root = tmp_path / "GOT-10k"
    make_got10k_video(root / "val", "GOT-10k_Val_000002", 3, absent={1}, covers=[8, 0, 5])
    make_got10k_video(root / "val", "GOT-10k_Val_000001", 2)
    (root / "val" / "list.txt").write_text("GOT-10k_Val_000002\nGOT-10k_Val_000001\n")
    val = open_got10k(root, "val")
    assert val.names == ["GOT-10k_Val_000002", "GOT-10k_Val_000001"]
    video = val[0]
    assert video.sentence == "dove, walking, bird, animal"
    assert video.visible.tolist() == [True, False, True] and video.cover.tolist() == [8, 0, 5]
    assert [path.name for path in video.frame_paths] == ["00000001.jpg", "00000002.jpg", "00000003.jpg"]
    assert open_got10k(root / "val", "val").names == val.names  # root = the split folder
    with pytest.raises(ValueError, match="holds GOT-10k's val split"):
        open_got10k(root / "val", "test")
    test_video = root / "test" / "GOT-10k_Test_000001"
    write_frames(test_video, range(1, 6))
    (test_video / "groundtruth.txt").write_text("10,20,30,40\n")
    sequence = open_got10k(root, "test")[0]
    assert sequence.first_box_only and len(sequence) == 5 and sequence.ground_truth.shape == (1, 4)
    assert sequence.init_box.tolist() == [10, 20, 30, 40] and sequence.sentence is None


def test_got10k_malformed(tmp_path):
    folder = make_got10k_video(tmp_path / "train", "GOT-10k_Train_000001", 3, covers=[8, 9, 8])
    with pytest.raises(DataFormatError, match=at(folder / 'cover.label', ":2: flag 9 is not one of 0, 1, 2")):
        open_got10k(tmp_path, "train")
    (folder / "cover.label").write_text("8\n8\n8\n")
    (folder / "absence.label").write_text("0\n0\n")
    absence = folder / "absence.label"
    with pytest.raises(DataFormatError, match=at(absence, ": 2 absence flags but groundtruth.txt has 3")):
        open_got10k(tmp_path, "train")
    (folder / "absence.label").write_text("0\n0\n0\n")
    (folder / "meta_info.ini").write_text("[METAINFO]\nurl: x\n")
    with pytest.raises(DataFormatError, match=at(folder / 'meta_info.ini', ": none of object_class")):
        open_got10k(tmp_path, "train")
    (folder / "meta_info.ini").unlink()
    with pytest.raises(FileNotFoundError, match="meta_info.ini"):
        open_got10k(tmp_path, "train")


# --------------------------------------------------------------------------------------------- textio fast path


def test_plain_decimal_fast_path_agrees_with_general_parser(monkeypatch):
    """The vectorised parser of plain decimals must give the very numbers (and errors) of the general one."""
    rng = random.Random(0)
    special = ["nan", "1e3", ".5", "5.", "-.25", "+3", "1-2", "--1", "1..2", ".", "-", "00012", "-0", "x"]

    def token() -> str:
        draw = rng.random()
        if draw < 0.45:
            return str(rng.randint(-5000, 5000))
        if draw < 0.85:
            return f"{rng.uniform(-1000, 1000):.{rng.randint(0, 6)}f}"
        return rng.choice(special)

    cases = []
    for _ in range(400):
        rows = [rng.choice([",", "\t", " ", ", "]).join(token() for _ in range(rng.choice([4, 4, 4, 3, 5])))
                for _ in range(rng.randint(1, 5))]
        if rng.random() < 0.1:
            rows.insert(rng.randint(0, len(rows)), "")
        cases.append(rng.choice(["\n", "\r\n"]).join(rows) + rng.choice(["", "\n", "\r\n"]))

    def parse_all():
        outcomes = []
        for text in cases:
            try:
                outcomes.append(textio.parse_boxes(text, "f.txt"))
            except DataFormatError as error:
                outcomes.append(str(error))
        return outcomes

    vectorised = textio._parse_plain_decimals
    taken = []
    monkeypatch.setattr(textio, "_parse_plain_decimals", lambda body: taken.append(vectorised(body)) or taken[-1])
    fast = parse_all()
    assert sum(result is not None for result in taken) > 100  # the fast path was exercised
    assert sum(isinstance(item, np.ndarray) for item in fast) > 50
    monkeypatch.setattr(textio, "_parse_plain_decimals", lambda body: None)
    for text, a, b in zip(cases, fast, parse_all()):
        if isinstance(a, np.ndarray):
            assert isinstance(b, np.ndarray) and np.array_equal(a, b, equal_nan=True), text
        else:
            assert a == b, text


# --------------------------------------------------------------------------------------------- the real files


def test_real_lasot_toolkit_annotations(shared_dir):
    root = shared_dir / "data" / "lasot_test_annos"
    dataset = open_lasot(root)
    assert len(dataset) == 280 and dataset.split == "test"
    assert sum(len(sequence) for sequence in dataset) == 685360
    assert all(sequence.sentence and not sequence.has_frames for sequence in dataset)
    assert all(list(sequence.attributes) == list(LASOT_ATTRIBUTES) for sequence in dataset)
    absent_in_files = sum(
        sum(line.strip() == "1" for line in (root / "absent" / f"{name}.txt").read_text().splitlines())
        for name in dataset.names
    )
    assert sum(int((~sequence.visible).sum()) for sequence in dataset) == absent_in_files > 0
    airplane = dataset["airplane-1"]
    assert airplane.sentence == "white airplane landing on ground"
    assert airplane.ground_truth[0].tolist() == [367, 101, 41, 16]
    assert [name for name, flag in airplane.attributes.items() if flag] == ["POC", "ROT", "SV", "LR"]


def test_real_tnl2k_sample(shared_dir):
    dataset = open_tnl2k(shared_dir / "data" / "tnl2k_sample", require_frames=False)
    assert len(dataset) == 12 and all(sequence.sentence for sequence in dataset)
    assert all(sequence.sentence == sequence.sentence.strip() for sequence in dataset)
    boat = dataset["Boat_video1-Done"]
    assert len(boat) == 470 and int((~boat.visible).sum()) == 113
    assert dataset["Baseball_game_002-Done"].ground_truth.shape == (713, 4)  # CRLF lines, no final newline


def test_real_otb_crossing(shared_dir):
    dataset = open_otb(shared_dir / "data" / "otb_crossing")
    crossing = dataset[0]
    assert len(crossing) == 120 and len(crossing.frame_paths) == 120
    assert crossing.init_box.tolist() == [205, 151, 17, 50]
    assert crossing.frame(119).shape == (240, 360, 3)
