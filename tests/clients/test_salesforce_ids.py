"""The gateway's own Salesforce id checks agree with ids Salesforce really issued."""

from __future__ import annotations

import pytest

from gateway import salesforce_ids

# 18-character ids from the real Outbound Messages in tests/fixtures/salesforce/.
REAL_IDS = ["00Dxx0000001gPFEAY", "005xx000001AgNtAAK"]


@pytest.mark.parametrize("value", REAL_IDS)
def test_the_checksum_of_real_ids_is_reproduced(value: str) -> None:
    assert salesforce_ids.checksum(value[:15]) == value[15:]
    assert salesforce_ids.is_valid(value)


def test_a_15_character_id_widens_to_its_18_character_form_and_both_name_one_record() -> None:
    assert salesforce_ids.to18("005xx000001AgNt") == "005xx000001AgNtAAK"
    assert salesforce_ids.same("005xx000001AgNt", "005xx000001AgNtAAK")


@pytest.mark.parametrize("value", ["005xx000001AgNtAAA", "005xx000001AgN", "005xx000001AgNt!", "12364"])
def test_malformed_ids_are_refused(value: str) -> None:
    assert not salesforce_ids.is_valid(value)
    with pytest.raises(ValueError, match="not a Salesforce id"):
        salesforce_ids.to18(value)
