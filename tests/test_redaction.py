"""core.redaction: secrets masked whole, ordinary words left alone."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.redaction import MASK, SECRET_SIZED, one_line, redact, redact_credentials


def test_a_known_secret_is_masked_where_it_stands_alone() -> None:
    assert redact("token ghs_abc in text", "ghs_abc", None) == "token *** in text"
    assert redact("https://x-access-token:ghs_abc@host/x", "ghs_abc") == (
        "https://x-access-token:***@host/x"
    )


def test_a_short_secret_does_not_mangle_words() -> None:
    # An LLM key of "x" once turned "OpenAIException" into "OpenAIE***ception".
    assert redact("litellm.OpenAIException: bad key x", "x") == (
        "litellm.OpenAIException: bad key ***"
    )


def test_a_secret_sized_value_is_masked_even_inside_other_text() -> None:
    secret = "A" * SECRET_SIZED
    assert redact(f"prefix{secret}suffix", secret) == "prefix***suffix"


def test_overlapping_secrets_are_masked_whole() -> None:
    long, short = "ghs_" + "b" * 30, "ghs_" + "b" * 8
    assert redact(f"{long} and {short}", short, long) == "*** and ***"


def test_credentials_recognised_by_shape() -> None:
    text = "GET https://user:pa55@example.com with sk-abcdefghijkl and Bearer tok3n"
    masked = redact_credentials(text)
    assert "pa55" not in masked and "sk-abcdefghijkl" not in masked and "tok3n" not in masked
    assert masked.count(MASK) == 3


def test_one_line_is_one_short_line() -> None:
    reason = one_line("first\n  second\tthird " + "y" * 400, ["second"], limit=40)
    assert "\n" not in reason and len(reason) == 40 and reason.endswith("…")
    assert reason.startswith("first *** third")


# Without "*" in the text, the mask cannot combine with its surroundings into the secret again.
_TEXT = st.characters(blacklist_characters="*")


@given(
    st.text(_TEXT, min_size=SECRET_SIZED, max_size=40),
    st.text(_TEXT, max_size=40),
    st.text(_TEXT, max_size=40),
)
def test_a_secret_sized_value_never_survives(secret: str, before: str, after: str) -> None:
    assert secret not in redact(before + secret + after, secret)


# Text made of the pieces the shape patterns look for, so that matches are common.
_PIECES = ["sk-", "gh", "p_", "s_", "ghs_", "Bearer", " ", "https", "://", "user", ":", "pw", "@",
           "/", "abcdefgh", "0123456789ABCDEF", "-", "_", "\n", "é"]  # fmt: skip
_SHAPED = st.lists(st.sampled_from(_PIECES), max_size=30).map("".join)


@given(_SHAPED, st.sampled_from(["", "pw", "user", "s3cret-value-of-16+"]))
def test_the_shape_patterns_mask_what_they_would_without_the_quick_checks(
    text: str, secret: str
) -> None:
    """redact_credentials skips a pattern when a literal it needs is absent (issue 17): the
    result is the one that running every pattern gives."""
    from core.redaction import _KEYISH, _URL_CREDENTIALS

    everything = _KEYISH.sub(MASK, _URL_CREDENTIALS.sub(rf"\1{MASK}@", redact(text, secret)))
    assert redact_credentials(text, [secret]) == everything
