"""The vectorised decimal parser gives bit for bit the doubles Python's float() gives (correct rounding), including
17-digit tracker output, 19-digit mantissas, exact midpoints between doubles and the tokens it hands to float(); with the
80-bit long double for long mantissas (x86) and with Dekker's exact remainder (elsewhere)."""
import numpy as np
import pytest

from vlt_mini.data import textio


def random_tokens(rng, count):
    tokens = []
    for _ in range(count):
        digits = "".join(rng.choice(list("0123456789"), int(rng.integers(1, 22))))
        dot = int(rng.integers(0, len(digits) + 1))
        token = digits[:dot] + "." + digits[dot:] if rng.random() < 0.8 else digits
        tokens.append(("-" if rng.random() < 0.3 else "") + token)
    return tokens


@pytest.mark.parametrize("extended", [True, False], ids=["long-double", "dekker"])
def test_fast_parser_is_bit_exact_against_float(extended, monkeypatch):
    if extended and not textio._EXTENDED_PRECISION:
        pytest.skip("this platform's long double has no 64-bit mantissa")
    monkeypatch.setattr(textio, "_EXTENDED_PRECISION", extended)
    rng = np.random.default_rng(0)
    tokens = random_tokens(rng, 20000)
    tokens += [repr(float(x)) for x in rng.normal(0, 300, 5000)]          # what trackers write: 16-17 digits
    tokens += [repr(float(x)) for x in rng.random(5000) * 1e-3]           # leading zeros, some with exponents
    midpoints = rng.integers(2**52, 2**53, 500) * 2 + 1                   # odd integers above 2**53: exact ties
    tokens += [str(int(m)) for m in midpoints] + [f"{int(m)}e-3" for m in midpoints[:5]]
    around_powers_of_two = [str(2**k + d) for k in range(54, 64) for d in range(-2, 3)]      # ulp changes there
    tokens += [digits[:dot] + "." + digits[dot:] for digits in around_powers_of_two for dot in (1, 4, 9, 17)]
    tokens += ["9007199254740993", "18446744073709551615", "9999999999999999999", "0.0000000000000000001",
               "-0.008002206431712011", "1.", ".5", "-.25", "-0", "nan", "-inf", "+3", "1E5"]
    separators = [",", " ", "\t", ", ", "\n", "\r\n"]
    body = "".join(token + separators[i % len(separators)] for i, token in enumerate(tokens))
    numbers, lines = textio._parse_plain_decimals(body)
    expected = np.array([float(token) for token in tokens])
    assert numbers.view(np.int64).tolist() == expected.view(np.int64).tolist()   # same bits, NaN included
    expected_lines = np.cumsum([0] + [separators[i % len(separators)] in ("\n", "\r\n") for i in range(len(tokens))])
    np.testing.assert_array_equal(lines, expected_lines[:-1])


def test_fast_parser_declines_what_is_not_a_number():
    for text in ("1,2,x,4", "1,2,1_0,4", "1,2,1.2.3,4", "1,2,3-4,4", "1,2,-,4", "1,2,é,4"):
        assert textio._parse_plain_decimals(text) is None, text


def test_real_tracker_results_parse_like_float(shared_dir):
    path = shared_dir / "data" / "lasot_results" / "SiamRPN++" / "dog-1.txt"   # 17-digit floats and an exponent
    boxes = textio.read_boxes(path)
    expected = [[float(v) for v in line.split(",")] for line in path.read_text().splitlines() if line.strip()]
    assert boxes.view(np.int64).tolist() == np.array(expected).view(np.int64).tolist()


def test_map_in_order_keeps_the_order_and_raises_the_first_error_in_order():
    from vlt_mini.data.textio import map_in_order

    assert list(map_in_order(lambda x: x * x, range(20))) == [x * x for x in range(20)]

    def fail_on(x):
        if x in (5, 12):
            raise ValueError(f"item {x}")
        return x

    with pytest.raises(ValueError, match="item 5"):
        list(map_in_order(fail_on, range(20)))
