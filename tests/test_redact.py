"""What reaches a log or an error dialog never carries a password or a key."""

from __future__ import annotations

from app.redact import MASK, redact, register_secret


def test_a_registered_password_is_masked_wherever_it_appears() -> None:
    register_secret("Tr0ub4dor&3-unique")
    assert (
        redact("login failed for Tr0ub4dor&3-unique at sbc1") == f"login failed for {MASK} at sbc1"
    )


def test_a_password_assigned_in_a_message_is_masked_even_if_never_registered() -> None:
    assert redact("disk on fire; password=hunter22") == f"disk on fire; password={MASK}"
    assert redact("GET /x?pwd=abc&y=2") == f"GET /x?pwd={MASK}&y=2"
    assert redact("ACCERT_PASSPHRASE=s3cret-value") == f"ACCERT_PASSPHRASE={MASK}"


def test_prompts_and_ordinary_words_are_left_alone() -> None:
    # An OVOC transcript: the prompt stays readable and the next line is not taken for a value.
    assert redact("Password: \nroot@ovoc:~#") == "Password: \nroot@ovoc:~#"
    assert redact("compass=north; bypass: on") == "compass=north; bypass: on"


def test_a_private_key_block_is_removed() -> None:
    text = "before\n-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\nafter"
    assert redact(text) == "before\n[private key removed]\nafter"
