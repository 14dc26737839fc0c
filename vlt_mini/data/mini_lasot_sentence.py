"""The sentence of a mini-LaSOT video, and the cast it has to single the target out from.

VLT's premise is that language carries information the template alone may not. So every scene has one target and
distractors chosen to need the sentence (``choose_objects``):

* ``same_category`` - the target's category in another colour,
* ``same_colour``   - the target's colour on another category,
* ``twin``          - a near-twin: same category and colour, differing only in pattern or in size,
* ``other``         - anything that is not a twin (it may share the category or the colour, never both).

The sentence (``describe``, in the style of LaSOT's ``nlp.txt``: lower case, no article, e.g. "white airplane landing
on ground") always names the target's colour and category, adds the pattern or size word that separates it from its
near-twin, and may add its motion and place in the first frames. Every word is true of the target by construction,
and no distractor fits all of its words.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vlt_mini.data.mini_lasot_render import CATEGORIES, COLOURS, PATTERNS, SIZE_FACTORS, Appearance


@dataclass
class ObjectSpec:
    """An object's identity: appearance words plus its size class and role in the scene."""

    appearance: Appearance
    size: str                        # "small" | "medium" | "large"
    role: str                        # "target" | "twin" | "same_category" | "same_colour" | "other"

    def as_dict(self) -> dict:
        return {"category": self.appearance.category, "colour": self.appearance.colour,
                "pattern": self.appearance.pattern, "size": self.size, "role": self.role}



def choose_objects(rng: np.random.Generator, category: str, n_distractors: int, twin_probability: float,
                   small_ok: bool = True) -> tuple[ObjectSpec, list[ObjectSpec], str | None]:
    """The target and its distractors; returns (target, distractors, twin_difference: "pattern" | "size" | None).

    ``small_ok=False`` (the target starts far away, poor first frames) keeps the target from being "small" and its
    near-twin from differing in size, since its size word would then be false in the first frames.
    """
    colours, others = list(COLOURS), [c for c in CATEGORIES if c != category]
    colour = str(rng.choice(colours))
    pattern = str(rng.choice(PATTERNS, p=[0.4, 0.2, 0.2, 0.2]))
    size = str(rng.choice(["small", "medium", "large"], p=[0.25 if small_ok else 0.0, 0.5 if small_ok else 0.6,
                                                               0.25 if small_ok else 0.4]))
    roles = ["same_category", "same_colour"]
    twin = None
    if rng.random() < twin_probability:
        roles.insert(0, "twin")
        twin = "pattern" if (rng.random() < 0.6 or not small_ok) else "size"
    roles = roles[:max(n_distractors, 1)] + ["other"] * max(0, n_distractors - len(roles))
    if twin == "size":
        size = "small" if rng.random() < 0.5 else "large"
    target = ObjectSpec(Appearance(category, colour, pattern), size, "target")
    distractors = []
    for role in roles:
        d_category, d_colour = str(rng.choice(others)), str(rng.choice([c for c in colours if c != colour]))
        d_pattern, d_size = str(rng.choice(PATTERNS)), str(rng.choice(list(SIZE_FACTORS)))
        if role == "twin":
            d_category, d_colour = category, colour
            if twin == "pattern":
                d_pattern = str(rng.choice([p for p in PATTERNS if p != pattern]))
            else:
                d_pattern, d_size = pattern, ("large" if size == "small" else "small")
        elif role == "same_category":
            d_category = category
        elif role == "same_colour":
            d_colour = colour
        elif rng.random() < 0.5:  # "other": may share one attribute, never both
            if rng.random() < 0.5:
                d_category = category
            else:
                d_colour = colour
        distractors.append(ObjectSpec(Appearance(d_category, d_colour, d_pattern), d_size, role))
    return target, distractors, twin


# --------------------------------------------------------------------------------------------------- the sentence

_VERBS = {"ball": "rolling", "car": "driving", "bird": "flying"}
_DIRECTIONS = ("right", "lower right", "down", "lower left", "left", "upper left", "up", "upper right")


def plural(noun: str) -> str:
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


def describe(rng: np.random.Generator, target: ObjectSpec, boxes: np.ndarray, distractors: list[ObjectSpec],
             twin: str | None, width: int, height: int, size_word: bool) -> tuple[str, dict]:
    """The target's sentence and the facts it uses, from its spec and its (N, 4) boxes (left, top, right, bottom).

    Every word is true of the target:

    * colour and category always; ``plain``/``striped``/... when a near-twin differs in pattern (else sometimes,
      for patterned targets); ``small``/``large`` when ``size_word`` (always when a near-twin differs in size; the
      caller then keeps the target's scale within ``SCALE_RANGE`` so that the word stays true);
    * motion over the first frames (net displacement direction, or "slowly" when it hardly moves);
    * place at frame 1 by thirds of the frame, only when the centre is not near a third's border;
    * "among other <category>s" only when another object of its category is present.
    """
    spec = target
    appearance = spec.appearance
    words = []
    mention_size = size_word or twin == "size"
    if mention_size:
        words.append(spec.size)
    words.append(appearance.colour)
    if twin == "pattern" or (appearance.pattern != "plain" and rng.random() < 0.35):
        words.append(appearance.pattern)
    words.append(appearance.category)
    facts = {"size_word": mention_size, "pattern_word": appearance.pattern in words}
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2  # of the box one would draw, not of the shape's origin
    n = len(centre)
    steps = int(min(n - 1, max(3, min(n // 8, 30))))  # the first frames only, as LaSOT's sentences
    displacement = centre[steps] - centre[0]
    diameter = max(boxes[0, 2] - boxes[0, 0], boxes[0, 3] - boxes[0, 1])
    if rng.random() < 0.6:
        verb = _VERBS.get(appearance.category, "moving")
        if np.hypot(*displacement) / steps < 0.04 * diameter:
            words.append(f"{verb} slowly")
        else:
            sector = int(np.round(np.arctan2(displacement[1], displacement[0]) / (np.pi / 4))) % 8
            direction = _DIRECTIONS[sector]
            phrase = direction if direction in ("up", "down") else f"to the {direction}"
            words.append(f"{verb} {phrase}")
        facts["motion"] = words[-1]
    x, y = centre[0]
    column = _third(x / width)
    row = _third(y / height)
    if column is not None and row is not None and rng.random() < 0.45:
        words.append(_place(row, column))
        facts["place"] = words[-1]
    if any(d.appearance.category == appearance.category for d in distractors) and rng.random() < 0.4:
        words.append(f"among other {plural(appearance.category)}")
    return " ".join(words), facts


def _third(fraction: float) -> int | None:
    """0, 1, 2 for the left/centre/right (top/middle/bottom) third; None within 4 % of a border between thirds."""
    for border in (1 / 3, 2 / 3):
        if abs(fraction - border) < 0.04:
            return None
    return min(int(fraction * 3), 2)


def _place(row: int, column: int) -> str:
    vertical, horizontal = ("upper", "middle", "lower")[row], ("left", "centre", "right")[column]
    if row == 1 and column == 1:
        return "in the centre of the scene"
    if row == 1:
        return f"on the {horizontal} side of the scene"
    if column == 1:
        return f"at the {('top', '', 'bottom')[row]} of the scene"
    return f"in the {vertical} {horizontal} of the scene"
