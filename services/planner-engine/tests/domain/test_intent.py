"""intent.py: an intent read into its verb, goal, qualifiers, deliverables and notes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from planner_engine.domain.intent import Deliverable, normalise_object, read_intent, shorten, split_qualifiers

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def read(intent: str) -> tuple[str, str, list[str], list[tuple[str, str, bool]]]:
    found = read_intent(intent, now=NOW, constraints={})
    return found.verb, found.goal, found.qualifiers, [(d.verb, d.text, d.after_previous) for d in found.deliverables]


def test_goal_qualifiers_and_a_list_after_with() -> None:
    found = read_intent(
        "Launch a paid newsletter tier for our 2,400 subscribers by the end of January, with a pricing page,"
        " a welcome email sequence and a Stripe integration",
        now=NOW,
        constraints={},
    )
    assert (found.verb, found.goal) == ("launch", "the paid newsletter tier")
    assert found.qualifiers == ["for our 2,400 subscribers"]
    assert found.deliverables == [
        Deliverable("the pricing page"),
        Deliverable("the welcome email sequence"),
        Deliverable("the Stripe integration"),
    ]
    assert found.due.phrase == "by the end of January"
    assert found.headline == "Launch a paid newsletter tier for our 2,400 subscribers"


@pytest.mark.parametrize(
    ("intent", "expected"),
    [
        ("Prepare the board meeting including the deck and the agenda", ["the deck", "the agenda"]),
        ("Prepare my talk: slides, a live demo and a rehearsal", ["slides", "the live demo", "the rehearsal"]),
        ("Plan the party (venue; DJ; invitations)", ["the venue", "DJ", "invitations"]),
        ("Write the blog post and the newsletter", ["the blog post", "the newsletter"]),
        ("Publish the terms and conditions", []),  # a fixed pair is one thing
        ("Publish a case study with Northwind", []),  # a name after "with" is a partner, not a list
        ("Translate the help center into German and French", []),  # one object with a list inside it
    ],
)
def test_lists_in_the_text(intent: str, expected: list[str]) -> None:
    assert [text for _, text, _ in read(intent)[3]] == expected


def test_a_sequence_of_actions_keeps_its_order() -> None:
    found = read_intent("Write the spec, then build the prototype and demo it to the team", now=NOW, constraints={})
    assert found.sequential
    assert [(d.verb, d.text, d.after_previous) for d in found.deliverables] == [
        ("write", "the spec", False),
        ("build", "the prototype", True),
        ("demo", "it to the team", True),
    ]


def test_later_sentences_are_actions_needs_or_notes() -> None:
    found = read_intent(
        "We need to migrate our CRM to Salesforce. Export the contacts and map the fields. It needs a FAQ."
        " The sales team is nervous.",
        now=NOW,
        constraints={},
    )
    assert (found.verb, found.goal) == ("migrate", "our CRM to Salesforce")
    assert [(d.verb, d.text, d.after_previous) for d in found.deliverables] == [
        ("export", "the contacts", True),
        ("map", "the fields", True),
        ("", "the FAQ", False),
    ]
    assert found.notes == ["The sales team is nervous"]


def test_qualifiers_and_objects() -> None:
    reported = split_qualifiers("the login bug reported by three customers")
    assert reported == ("the login bug", ["reported by three customers"])
    assert split_qualifiers("the CRM from HubSpot to Salesforce") == ("the CRM from HubSpot to Salesforce", [])
    routine = split_qualifiers("the weekly review routine every Friday")
    assert routine == ("the weekly review routine", ["every Friday"])
    assert [normalise_object(text) for text in ("a pricing page", "Stripe", "CRM tools", "it", "three posts")] == [
        "the pricing page",
        "Stripe",
        "CRM tools",
        "it",
        "three posts",
    ]
    assert shorten("Define goal, audience and success measure for the mobile app redesign of the year") == (
        "Define goal, audience and success measure for the mobile app redesign"
    )


def test_two_verbs_share_one_goal_and_a_partner_is_no_deliverable() -> None:
    assert read("Write and send the December newsletter to 5,000 readers")[:3] == (
        "write",
        "the December newsletter",
        ["to 5,000 readers"],
    )
    assert read("Run a design workshop with the product team")[3] == []
    assert [text for _, text, _ in read("Build the dashboard with SSO")[3]] == ["SSO"]
