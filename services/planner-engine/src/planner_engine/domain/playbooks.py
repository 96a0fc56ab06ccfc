"""The offline planner's playbooks: for each kind of intent, the steps of a generic SOP.

An intent's first verb picks the playbook (`launch the newsletter` -> launch); `{obj}` in a step is the
rest of the intent (`the newsletter`). Base minutes are typical durations, scaled later by the user's
own history (estimates.py). Order matters: the first playbook whose verbs match wins.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StepPattern:
    title: str
    purpose: str
    done: str
    minutes: int
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Playbook:
    name: str
    verbs: frozenset[str]
    steps: tuple[StepPattern, ...]


def _verbs(*words: str) -> frozenset[str]:
    return frozenset(words)


PLAYBOOKS: tuple[Playbook, ...] = (
    Playbook(
        "launch",
        _verbs("launch", "ship", "release", "announce", "publish", "roll", "go"),
        (
            StepPattern(
                "Define goal, audience and success measure for {obj}",
                "Know what done looks like",
                "Goal, audience and one success metric written down",
                30,
                ("planning",),
            ),
            StepPattern(
                "Prepare the content and assets for {obj}",
                "Have everything the launch needs",
                "All content and assets drafted",
                120,
                ("deep-work",),
            ),
            StepPattern(
                "Review and test {obj}",
                "Catch mistakes before the audience does",
                "Reviewed end to end; issues fixed",
                45,
                ("review",),
            ),
            StepPattern("Launch {obj}", "Put it in front of the audience", "Live and announced", 30, ("admin",)),
            StepPattern(
                "Follow up on {obj} and record results",
                "Learn from the launch",
                "Results against the success measure noted",
                30,
                ("review",),
            ),
        ),
    ),
    Playbook(
        "write",
        _verbs("write", "draft", "blog", "document", "compose", "prepare", "create"),
        (
            StepPattern(
                "Outline {obj}", "Decide the structure and key points", "Outline with key points", 30, ("planning",)
            ),
            StepPattern(
                "Write the first draft of {obj}",
                "Get the whole thing down",
                "Complete first draft",
                120,
                ("deep-work", "writing"),
            ),
            StepPattern(
                "Edit and polish {obj}",
                "Make it clear and correct",
                "Edited; read aloud once",
                60,
                ("writing", "review"),
            ),
            StepPattern("Deliver {obj}", "Send or publish it", "Sent or published", 20, ("admin",)),
        ),
    ),
    Playbook(
        "fix",
        _verbs("fix", "debug", "repair", "resolve", "troubleshoot", "patch"),
        (
            StepPattern(
                "Reproduce {obj}", "See the failure for yourself", "A reliable reproduction", 45, ("deep-work",)
            ),
            StepPattern(
                "Find the cause of {obj}", "Fix the cause, not the symptom", "Root cause identified", 90, ("deep-work",)
            ),
            StepPattern(
                "Fix {obj} with a test",
                "Make it not come back",
                "Fix and a failing-then-passing test",
                90,
                ("deep-work", "coding"),
            ),
            StepPattern(
                "Deploy and verify the fix for {obj}", "Confirm it in the real place", "Verified live", 30, ("admin",)
            ),
        ),
    ),
    Playbook(
        "build",
        _verbs("build", "implement", "develop", "code", "automate", "integrate", "set", "setup", "configure"),
        (
            StepPattern(
                "Specify {obj}", "Agree on what it must do", "Requirements and acceptance checks", 45, ("planning",)
            ),
            StepPattern("Design {obj}", "Choose the approach before coding", "Design notes", 60, ("deep-work",)),
            StepPattern("Implement {obj}", "Make it work", "Working implementation", 240, ("deep-work", "coding")),
            StepPattern("Test {obj}", "Prove it works", "Acceptance checks pass", 90, ("coding", "review")),
            StepPattern("Release {obj}", "Put it to use", "Released and documented", 45, ("admin",)),
        ),
    ),
    Playbook(
        "learn",
        _verbs("learn", "study", "research", "explore", "investigate", "understand", "evaluate", "compare"),
        (
            StepPattern(
                "Frame the questions about {obj}",
                "Know what you need to find out",
                "Written questions",
                20,
                ("planning",),
            ),
            StepPattern("Gather sources on {obj}", "Find the best material", "A short reading list", 45, ("research",)),
            StepPattern(
                "Study {obj}",
                "Work through the material",
                "Notes answering each question",
                120,
                ("deep-work", "research"),
            ),
            StepPattern(
                "Summarise what you learned about {obj}", "Make it reusable", "A one-page summary", 45, ("writing",)
            ),
        ),
    ),
    Playbook(
        "organise",
        _verbs("organise", "organize", "plan", "schedule", "book", "arrange", "host", "run", "move", "migrate"),
        (
            StepPattern(
                "Decide scope, date and budget for {obj}",
                "Fix the frame",
                "Scope, date and budget set",
                30,
                ("planning",),
            ),
            StepPattern(
                "List and book what {obj} needs",
                "Secure people, places and tools",
                "Bookings confirmed",
                60,
                ("admin",),
            ),
            StepPattern("Prepare {obj}", "Get everything ready", "Checklist complete", 90, ()),
            StepPattern("Carry out {obj}", "Do it", "Done as planned", 120, ()),
            StepPattern("Wrap up {obj}", "Close loose ends", "Follow-ups sent; notes filed", 30, ("admin",)),
        ),
    ),
)

GENERIC = Playbook(
    "generic",
    frozenset(),
    (
        StepPattern(
            "Clarify the outcome of {obj}",
            "Know what done looks like",
            "Outcome and done-criteria written",
            20,
            ("planning",),
        ),
        StepPattern("Gather what {obj} needs", "Have the inputs at hand", "Inputs collected", 30, ()),
        StepPattern("Do the work: {obj}", "Make the change", "Work complete", 120, ("deep-work",)),
        StepPattern("Review and deliver {obj}", "Check it and hand it over", "Reviewed and delivered", 30, ("review",)),
    ),
)


def pick_playbook(verb: str) -> Playbook:
    """The playbook for an intent's first verb (`generic` when none claims it)."""
    return next((playbook for playbook in PLAYBOOKS if verb in playbook.verbs), GENERIC)
