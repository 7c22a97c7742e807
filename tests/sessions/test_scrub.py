"""sessions.scrub: known names out of what people wrote, roles and short words kept."""

from __future__ import annotations

from sessions.scrub import SHARED, NameScrubber


def scrubber():
    return NameScrubber(
        {"Nina Diallo": "Participant 1", "Nina Roux": "Participant 2",
         "Awa Le Gall": "Participant 3", "police": "Participant 4",
         "Participant 5": "Participant 5"},
        keep={"police", "Police judiciaire", "parquet"},
    )


def test_whole_names_first_then_their_words():
    s = scrubber()
    assert s.text("nina diallo et Gall") == "Participant 1 et Participant 3"
    assert s.text("Nina appelle") == f"{SHARED} appelle"  # two Ninas: nobody in particular
    assert s.text("Le chef") == "Le chef"  # a two-letter word is no name
    assert s.text("Diallonne, Gallery") == "Diallonne, Gallery"  # whole words only


def test_roles_are_not_names_even_as_a_display_name():
    assert scrubber().text("La police judiciaire appelle le parquet") == \
        "La police judiciaire appelle le parquet"


def test_only_what_people_wrote_is_searched():
    s = scrubber()
    message = {"text": "Merci Awa", "thread": "Awa", "name": "Nina Diallo", "to_role": "x"}
    assert s.payload("message.sent", message) == {**message, "text": "Merci Participant 3"}
    scenario = {"title": "Nina Diallo", "body": "Awa", "adhoc": False}
    assert s.payload("inject.fired", scenario) == scenario  # the scenario's own text
    adhoc = {"title": "Pour Nina Diallo", "body": "Awa Le Gall", "adhoc": True}
    assert s.payload("inject.fired", adhoc)["body"] == "Participant 3"
