"""The time zones a person picks from on the profile page."""

from __future__ import annotations

from services.users import time_zones, zone_choices, zone_choices_with


def test_each_place_is_offered_once_by_its_current_name() -> None:
    choices = zone_choices()
    assert {"Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"} <= set(choices)
    for old in ("Asia/Calcutta", "US/Eastern", "Factory", "localtime", "Etc/GMT+5", "EST5EDT"):
        assert old not in choices, old
    assert list(choices) == sorted(choices)
    assert set(choices) <= time_zones() | {"UTC"}


def test_an_old_name_a_person_holds_stays_selectable_and_valid() -> None:
    assert "Asia/Calcutta" in zone_choices_with("Asia/Calcutta")
    assert "Asia/Calcutta" in time_zones()  # still accepted when sent
    assert zone_choices_with("Europe/Berlin") == zone_choices()
