"""The meaning of a scenario: references, kinds, triggers; errors and warnings."""

from __future__ import annotations

from scenarios.format import check_scenario
from tests.scenarios.format_helpers import (
    BASE,
    assert_at,
    codes,
    diagnose,
    only,
    pos,
    value_pos,
)

KNOWN_ROLES = "(known: police, parquet, joy, obs)"


def with_inject(*lines: str) -> str:
    return BASE + "".join(f"    {line}\n" if i else f"  - {line}\n" for i, line in enumerate(lines))


def with_objectives(*blocks: str) -> str:
    return BASE + "objectives:\n" + "".join(blocks)


class TestDuplicateIds:
    def test_duplicate_inject_id(self):
        text = with_inject("id: start", "kind: call", "to: police", "title: Encore")
        diagnostic = only(diagnose(text), "duplicate-id")
        assert diagnostic.message == (
            f"duplicate inject id 'start' (first at line {pos(text, 'id: start')[0]})"
        )
        assert_at(diagnostic, value_pos(text, "id: start", 2))

    def test_duplicate_role_id(self):
        text = BASE.replace(
            "  - id: obs\n", "  - id: joy\n    title: Bis\n    kind: actor\n  - id: obs\n"
        )
        diagnostic = only(diagnose(text), "duplicate-id")
        assert diagnostic.message.startswith("duplicate role id 'joy'")
        assert_at(diagnostic, value_pos(text, "id: joy", 2))

    def test_same_id_in_two_lists_is_fine(self):
        text = BASE.replace("id: p1", "id: police").replace("phase: p1", "phase: police")
        assert diagnose(text) == []

    def test_duplicate_option_id(self):
        text = BASE.replace("{id: non, label: Non}", "{id: oui, label: Non}")
        diagnostic = only(diagnose(text), "duplicate-id")
        assert diagnostic.message.startswith("decision 'dec' has a duplicate option id 'oui'")
        assert_at(diagnostic, pos(text, "oui, label: Non"))


class TestReservedIds:
    def test_role_all(self):
        text = BASE.replace("id: obs", "id: all")
        diagnostic = only(diagnose(text), "reserved-id")
        assert "role id 'all' is reserved" in diagnostic.message
        assert_at(diagnostic, value_pos(text, "id: all"))

    def test_option_any_or_none(self):
        for reserved in ("any", "none"):
            text = BASE.replace("{id: non,", f"{{id: {reserved},")
            diagnostic = only(diagnose(text), "reserved-id")
            assert f"option id '{reserved}' is reserved" in diagnostic.message
            assert_at(diagnostic, pos(text, f"{reserved}, label"))


class TestUnknownRole:
    def test_in_to(self):
        text = with_inject("id: call-ase", "kind: call", "to: [police, asso]", "title: X")
        diagnostic = only(diagnose(text), "unknown-role")
        assert diagnostic.message == f"inject 'call-ase' sends to unknown role 'asso' {KNOWN_ROLES}"
        assert_at(diagnostic, pos(text, "asso"))
        assert str(diagnostic) == (
            f"t.yaml:{diagnostic.line}:{diagnostic.col}: error: inject 'call-ase' sends to "
            f"unknown role 'asso' {KNOWN_ROLES} [unknown-role]"
        )

    def test_in_to_as_a_single_string(self):
        text = with_inject("id: x", "kind: call", "to: asso", "title: X")
        assert_at(only(diagnose(text), "unknown-role"), value_pos(text, "to: asso"))

    def test_in_contacts(self):
        text = BASE.replace(
            "    profession: police\n", "    profession: police\n    contacts: [parquet, juge]\n"
        )
        diagnostic = only(diagnose(text), "unknown-role")
        assert diagnostic.message.startswith("role 'police' lists as contact unknown role 'juge'")
        assert_at(diagnostic, pos(text, "juge"))

    def test_in_action_roles(self):
        text = BASE.replace("roles: [police]", "roles: [police, avocat]")
        diagnostic = only(diagnose(text), "unknown-role")
        assert diagnostic.message.startswith("action 'interprete' names unknown role 'avocat'")
        assert_at(diagnostic, pos(text, "avocat"))

    def test_in_objective_roles(self):
        text = with_objectives("  - id: o\n    title: O\n    roles: [juge]\n")
        diagnostic = only(diagnose(text), "unknown-role")
        assert diagnostic.message == f"objective 'o' names unknown role 'juge' {KNOWN_ROLES}"
        assert_at(diagnostic, pos(text, "juge"))

    def test_in_measure_message(self):
        text = with_objectives(
            "  - id: o\n    title: O\n    roles: [police]\n"
            "    measure:\n      message: {from: police, to: juge}\n"
        )
        diagnostic = only(diagnose(text), "unknown-role")
        assert diagnostic.message.startswith("objective 'o' measures a message to unknown role")
        assert_at(diagnostic, pos(text, "juge"))
        text = text.replace("from: police, to: juge", "from: juge, to: police")
        diagnostic = only(diagnose(text), "unknown-role")
        assert "measures a message from unknown role 'juge'" in diagnostic.message
        assert_at(diagnostic, pos(text, "juge"))


class TestOtherReferences:
    def test_unknown_phase(self):
        text = with_inject("id: x", "kind: call", "to: police", "phase: p9", "title: X")
        diagnostic = only(diagnose(text), "unknown-phase")
        assert diagnostic.message == "inject 'x' belongs to unknown phase 'p9' (known: p1)"
        assert_at(diagnostic, value_pos(text, "phase: p9"))

    def test_unknown_inject_in_after(self):
        text = with_inject(
            "id: x", "kind: call", "to: police", "title: X", "after: {inject: strat}"
        )
        diagnostic = only(diagnose(text), "unknown-inject")
        assert diagnostic.message == (
            "inject 'x' waits for unknown inject 'strat' (did you mean 'start'?)"
        )
        assert_at(diagnostic, pos(text, "strat"))

    def test_unknown_decision_no_such_inject(self):
        text = with_inject(
            "id: x", "kind: call", "to: police", "title: X", "when: {decision: nope, option: oui}"
        )
        diagnostic = only(diagnose(text), "unknown-decision")
        assert (
            diagnostic.message
            == "inject 'x' waits for decision 'nope', but there is no inject 'nope'"
        )
        assert_at(diagnostic, pos(text, "nope"))

    def test_unknown_decision_not_a_decision(self):
        text = with_inject(
            "id: x", "kind: call", "to: police", "title: X", "when: {decision: cue1, option: any}"
        )
        diagnostic = only(diagnose(text), "unknown-decision")
        assert diagnostic.message == (
            "inject 'x' waits for decision 'cue1', but inject 'cue1' is a cue, not a decision"
        )
        assert_at(diagnostic, pos(text, "cue1, option"))

    def test_unknown_decision_in_measure(self):
        text = with_objectives(
            "  - id: o\n    title: O\n    roles: [parquet]\n"
            "    measure: {decision: start, option: oui}\n"
        )
        diagnostic = only(diagnose(text), "unknown-decision")
        assert "objective 'o' measures decision 'start'" in diagnostic.message
        assert "is a broadcast, not a decision" in diagnostic.message
        assert_at(diagnostic, pos(text, "start, option"))

    def test_unknown_option(self):
        text = with_inject(
            "id: x",
            "kind: call",
            "to: police",
            "title: X",
            "when: {decision: dec, option: peut-etre}",
        )
        diagnostic = only(diagnose(text), "unknown-option")
        assert diagnostic.message == (
            "inject 'x' names option 'peut-etre' of decision 'dec', which has oui, non "
            "(and any, none)"
        )
        assert_at(diagnostic, pos(text, "peut-etre"))

    def test_any_and_none_are_always_valid_in_when(self):
        for option in ("any", "none"):
            text = with_inject(
                "id: x", "kind: call", "to: police", "title: X",
                f"when: {{decision: dec, option: {option}}}",
            )  # fmt: skip
            assert diagnose(text) == []

    def test_unknown_option_in_measure_and_no_any_there(self):
        for option in ("peut-etre", "any"):
            text = with_objectives(
                "  - id: o\n    title: O\n    roles: [parquet]\n"
                f"    measure: {{decision: dec, option: {option}}}\n"
            )
            diagnostic = only(diagnose(text), "unknown-option")
            assert f"objective 'o' names option '{option}' of decision 'dec'" in diagnostic.message
            assert_at(diagnostic, pos(text, f"{option}}}"))

    def test_unknown_action(self):
        text = with_inject(
            "id: x", "kind: call", "to: police", "title: X", "when: {action: dormir}"
        )
        diagnostic = only(diagnose(text), "unknown-action")
        assert (
            diagnostic.message == "inject 'x' waits for unknown action 'dormir' (known: interprete)"
        )
        assert_at(diagnostic, pos(text, "dormir"))

    def test_unknown_action_in_measure(self):
        text = with_objectives(
            "  - id: o\n    title: O\n    roles: [police]\n    measure: {action: dormir}\n"
        )
        diagnostic = only(diagnose(text), "unknown-action")
        assert diagnostic.message.startswith("objective 'o' measures unknown action 'dormir'")
        assert_at(diagnostic, pos(text, "dormir"))

    def test_references_to_a_malformed_item_are_not_reported_twice(self):
        text = BASE.replace("kind: decision", "kind: decisoin")
        text += "    \n  - id: x\n    kind: call\n    to: police\n    title: X\n"
        text += "    when: {decision: dec, option: oui}\n"
        assert codes(diagnose(text)) == ["bad-value"]


class TestTriggerForms:
    def test_multiple_triggers(self):
        text = with_inject(
            "id: x", "kind: call", "to: police", "title: X", "at: 3m", "manual: true"
        )
        diagnostic = only(diagnose(text), "multiple-triggers")
        assert diagnostic.message == (
            "inject 'x' has several triggers (at, manual); "
            "give exactly one of at, after, when, manual"
        )
        assert_at(diagnostic, pos(text, "manual: true"))

    def test_manual_false_does_not_count(self):
        text = with_inject(
            "id: x", "kind: call", "to: police", "title: X", "at: 3m", "manual: false"
        )
        assert diagnose(text) == []

    def test_when_needs_decision_and_option_or_action(self):
        text = with_inject("id: x", "kind: call", "to: police", "title: X", "when: {decision: dec}")
        diagnostic = only(diagnose(text), "missing-key")
        assert "inject 'x': 'when.option' is required" in diagnostic.message
        assert_at(diagnostic, pos(text, "{decision: dec}"))
        text = with_inject(
            "id: x", "kind: call", "to: police", "title: X",
            "when: {decision: dec, option: oui, action: interprete}",
        )  # fmt: skip
        diagnostic = only(diagnose(text), "bad-value")
        assert "either decision and option, or action, not both" in diagnostic.message

    def test_measure_takes_exactly_one_form(self):
        text = with_objectives(
            "  - id: o\n    title: O\n    roles: [police]\n"
            "    measure: {action: interprete, message: {from: police, to: parquet}}\n"
        )
        diagnostic = only(diagnose(text), "bad-value")
        assert "'measure' takes exactly one of decision (with option), action or message" in (
            diagnostic.message
        )
        assert_at(diagnostic, pos(text, "{action"))
        text = with_objectives(
            "  - id: o\n    title: O\n    roles: [police]\n    measure: {within: 5m}\n"
        )
        assert only(diagnose(text), "missing-key")
        text = with_objectives(
            "  - id: o\n    title: O\n    roles: [police]\n    measure: {decision: dec}\n"
        )
        assert "'measure.option' is required" in only(diagnose(text), "missing-key").message


class TestTriggerCycles:
    def test_two_injects(self):
        text = with_inject("id: a", "kind: call", "to: police", "title: A", "after: {inject: b}")
        text += "  - id: b\n    kind: call\n    to: police\n    title: B\n    after: {inject: a}\n"
        diagnostic = only(diagnose(text), "trigger-cycle")
        assert diagnostic.message == "trigger cycle a → b → a: none of these injects can ever fire"
        assert_at(diagnostic, pos(text, "after: {inject: b}"))

    def test_self(self):
        text = with_inject("id: a", "kind: call", "to: police", "title: A", "after: {inject: a}")
        assert "trigger cycle a → a" in only(diagnose(text), "trigger-cycle").message

    def test_through_a_decision(self):
        text = with_inject(
            "id: d2", "kind: decision", "to: police", "title: D", "after: {inject: a}",
            "options: [{id: x, label: X}, {id: y, label: Y}]",
        )  # fmt: skip
        text += "  - id: a\n    kind: call\n    to: police\n    title: A\n"
        text += "    when: {decision: d2, option: x}\n"
        diagnostic = only(diagnose(text), "trigger-cycle")
        assert "d2 → a → d2" in diagnostic.message
        assert_at(diagnostic, pos(text, "after: {inject: a}"))

    def test_a_chain_that_ends_is_fine(self):
        text = with_inject(
            "id: a", "kind: call", "to: police", "title: A", "after: {inject: start}"
        )
        text += "  - id: b\n    kind: call\n    to: police\n    title: B\n    after: {inject: a}\n"
        assert diagnose(text) == []


class TestRoles:
    def test_no_trainee_role(self):
        text = (
            BASE.replace("kind: trainee", "kind: observer")
            .replace("    profession: police\n", "")
            .replace("    profession: prosecutor\n", "")
            .replace("to: [parquet]", "to: [joy]")
        )
        diagnostics = diagnose(text)
        diagnostic = only(diagnostics, "no-trainee-role")
        assert "no trainee role" in diagnostic.message
        assert_at(diagnostic, pos(text, "roles:"))

    def test_profession_required(self):
        text = BASE.replace("    profession: prosecutor\n", "")
        diagnostic = only(diagnose(text), "profession-required")
        assert diagnostic.message.startswith(
            "role 'parquet' is a trainee role and needs a 'profession'"
        )
        assert_at(diagnostic, pos(text, "id: parquet"))

    def test_profession_on_non_trainee(self):
        text = BASE.replace("    kind: actor\n", "    kind: actor\n    profession: police\n")
        diagnostic = only(diagnose(text), "profession-on-non-trainee")
        assert "role 'joy' is an actor role; 'profession' is for trainee roles only" == (
            diagnostic.message
        )
        assert_at(diagnostic, pos(text, "profession: police", 2))

    def test_character_on_non_actor(self):
        text = BASE.replace(
            "    profession: police\n", "    profession: police\n    character: {age: 40}\n"
        )
        diagnostic = only(diagnose(text), "character-on-non-actor")
        assert diagnostic.message == (
            "role 'police' is a trainee role; 'character' is for actor roles only"
        )
        assert_at(diagnostic, pos(text, "character:"))

    def test_character_numbers_become_text(self):
        text = BASE.replace("    kind: actor\n", "    kind: actor\n    character: {age: 15}\n")
        assert check_scenario(("t.yaml", text.encode())).doc.roles[2].character.age == "15"


class TestInjectKinds:
    def test_cue_to_non_actor(self):
        text = BASE.replace("to: [joy]", "to: [joy, police]")
        diagnostic = only(diagnose(text), "cue-to-non-actor")
        assert diagnostic.message == (
            "cue 'cue1' is sent to 'police', a trainee role; cues go to actor roles only"
        )
        line, col = pos(text, "joy, police")
        assert_at(diagnostic, (line, col + len("joy, ")))

    def test_decision_to_non_trainee(self):
        text = BASE.replace("to: [parquet]", "to: [parquet, obs]")
        diagnostic = only(diagnose(text), "decision-to-non-trainee")
        assert diagnostic.message == (
            "decision 'dec' is sent to 'obs', an observer role; only trainee roles answer decisions"
        )
        assert_at(diagnostic, pos(text, "obs]"))

    def test_all_on_a_cue_or_decision_is_fine_and_expands_by_kind(self):
        text = BASE.replace("to: [joy]", "to: all").replace("to: [parquet]", "to: all")
        checked = check_scenario(("t.yaml", text.encode()))
        roles = checked.doc.roles
        cue, decision = checked.doc.injects[1], checked.doc.injects[2]
        assert cue.recipient_ids(roles) == ["joy"]
        assert decision.recipient_ids(roles) == ["police", "parquet"]
        assert checked.doc.injects[0].recipient_ids(roles) == ["police", "parquet", "joy", "obs"]

    def test_too_few_options(self):
        text = BASE.replace("      - {id: non, label: Non}\n", "")
        diagnostic = only(diagnose(text), "too-few-options")
        assert diagnostic.message == (
            "decision 'dec' has 1 option(s); a decision needs at least 2, or free_text: true"
        )
        assert_at(diagnostic, pos(text, "- {id: oui"))

    def test_free_text_decision_needs_no_options(self):
        text = BASE.replace(
            "    options:\n      - {id: oui, label: Oui}\n      - {id: non, label: Non}\n",
            "    free_text: true\n",
        )
        assert diagnose(text) == []

    def test_options_on_non_decision(self):
        text = with_inject(
            "id: x", "kind: message", "to: police", "title: X", "deadline: 5m",
            "options: [{id: a, label: A}, {id: b, label: B}]",
        )  # fmt: skip
        diagnostics = [d for d in diagnose(text) if d.code == "options-on-non-decision"]
        assert [d.message for d in diagnostics] == [
            "inject 'x' is a message; 'deadline' is for decisions only",
            "inject 'x' is a message; 'options' is for decisions only",
        ]
        assert_at(diagnostics[0], pos(text, "deadline: 5m", 2))

    def test_cue_on_non_cue(self):
        text = with_inject("id: x", "kind: call", "to: police", "title: X", "cue: {say: Bonjour}")
        diagnostic = only(diagnose(text), "cue-on-non-cue")
        assert diagnostic.message == "inject 'x' is a call; a 'cue' block is for kind cue only"
        assert_at(diagnostic, pos(text, "cue: {say"))

    def test_cue_block_is_optional(self):
        assert diagnose(BASE) == []  # cue1 has none


class TestWarnings:
    def test_base_has_none(self):
        assert diagnose(BASE) == []

    def test_actor_without_cue(self):
        text = BASE.replace(
            "    kind: cue\n    to: [joy]\n", "    kind: message\n    to: [police]\n"
        )
        diagnostic = only(diagnose(text), "actor-without-cue")
        assert diagnostic.severity == "warning"
        assert diagnostic.message == "actor role 'joy' receives no cue"
        assert_at(diagnostic, value_pos(text, "id: joy"))

    def test_role_receives_nothing(self):
        text = BASE.replace("    kind: broadcast\n", "    kind: message\n    to: [parquet]\n")
        diagnostic = only(diagnose(text), "role-receives-nothing")
        assert diagnostic.message == "trainee role 'police' receives no inject"
        assert_at(diagnostic, value_pos(text, "id: police"))

    def test_to_all_on_a_cue_does_not_reach_trainees(self):
        text = BASE.replace("    kind: broadcast\n", "    kind: cue\n    to: all\n")
        assert only(diagnose(text), "role-receives-nothing").message.startswith(
            "trainee role 'police'"
        )

    def test_empty_phase(self):
        text = BASE.replace("    phase: p1\n", "")
        diagnostic = only(diagnose(text), "empty-phase")
        assert diagnostic.message == "phase 'p1' has no inject"
        assert_at(diagnostic, value_pos(text, "id: p1"))

    def test_objective_without_role(self):
        text = with_objectives("  - id: o\n    title: O\n")
        diagnostic = only(diagnose(text), "objective-without-role")
        assert diagnostic.message == "objective 'o' names no role"
        assert_at(diagnostic, value_pos(text, "id: o\n"))

    def test_action_without_trainee(self):
        text = BASE.replace("roles: [police]", "roles: [joy]")
        diagnostic = only(diagnose(text), "action-without-trainee")
        assert diagnostic.message.startswith("action 'interprete' can be taken by no trainee role")
        assert_at(diagnostic, pos(text, "roles: [joy]"))

    def test_never_fires_base_case_and_transitively(self):
        text = BASE.replace("    deadline: 5m\n", "")
        text += "  - id: a\n    kind: call\n    to: police\n    title: A\n"
        text += "    when: {decision: dec, option: none}\n"
        text += "  - id: b\n    kind: call\n    to: police\n    title: B\n    after: {inject: a}\n"
        text += "  - id: c\n    kind: call\n    to: police\n    title: C\n    after: {inject: b}\n"
        diagnostics = [d for d in diagnose(text) if d.code == "never-fires"]
        assert [d.message for d in diagnostics] == [
            "inject 'a' can never fire: decision 'dec' has no deadline, so option 'none' "
            "(unanswered in time) never happens",
            "inject 'b' can never fire: it waits for inject 'a', which can never fire",
            "inject 'c' can never fire: it waits for inject 'b', which can never fire",
        ]
        assert_at(diagnostics[0], pos(text, "when: {decision: dec, option: none}"))
        assert_at(diagnostics[1], pos(text, "after: {inject: a}"))

    def test_never_fires_through_an_action_no_trainee_takes(self):
        text = BASE.replace("roles: [police]", "roles: [obs]")
        text += "  - id: a\n    kind: call\n    to: police\n    title: A\n"
        text += "    when: {action: interprete}\n"
        diagnostic = only(diagnose(text), "never-fires")
        assert "action 'interprete' can be taken by no trainee" in diagnostic.message

    def test_a_deadline_makes_none_reachable(self):
        text = BASE + "  - id: a\n    kind: call\n    to: police\n    title: A\n"
        text += "    when: {decision: dec, option: none}\n"
        assert diagnose(text) == []

    def test_warnings_do_not_stop_an_import(self):
        text = BASE.replace("    phase: p1\n", "")
        checked = check_scenario(("t.yaml", text.encode()))
        assert codes(checked.warnings) == ["empty-phase"]


class TestPartlyMalformedItems:
    def test_a_bad_optional_key_does_not_hide_the_items_other_errors(self):
        text = BASE.replace("to: [joy]", "to: [jo]").replace("at: 1m", "at: soon")
        assert sorted(codes(diagnose(text))) == ["bad-value", "unknown-role"]

    def test_no_second_error_about_a_key_that_could_not_be_read(self):
        text = with_inject("id: x", "kind: message", "to: 12", "title: X")
        assert codes(diagnose(text)) == ["bad-type"]  # not also "'to' is required"
        text = BASE.replace("- {id: non, label: Non}", "- {id: non, label: [Non]}")
        assert codes(diagnose(text)) == ["bad-type"]  # not also too-few-options
        text = BASE.replace("profession: prosecutor", "profession: procureur")
        assert codes(diagnose(text)) == ["bad-value"]  # not also profession-required
