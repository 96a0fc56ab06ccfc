"""The offline planner's playbooks: for each kind of intent, the steps of a generic SOP, and the kinds of
deliverable an intent can name, with the verb and the work each takes.

An intent's first verb picks the playbook (`launch the newsletter` -> launch), unless its object names a
more specific kind of work (`prepare the board meeting` -> meeting, `plan a trip` -> trip, `set up a weekly
review routine` -> routine). `{obj}` in a step is the intent's goal (`the newsletter`). Each step has a role:
`open` steps come first, `core` steps are the work itself and are replaced by the intent's named
deliverables when it has any (`with a pricing page and a welcome email sequence`), `close` steps (review,
launch, follow-up) come after all of them. Base minutes are typical durations, scaled later by the user's
own history (estimates.py). Order matters: the first playbook whose verbs match wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Role = Literal["open", "core", "close"]


@dataclass(frozen=True, slots=True)
class StepPattern:
    title: str
    purpose: str
    done: str
    minutes: int
    tags: tuple[str, ...] = ()
    role: Role = "core"


@dataclass(frozen=True, slots=True)
class Playbook:
    name: str
    verbs: frozenset[str]
    steps: tuple[StepPattern, ...]
    # The verb for a named deliverable no kind below claims ("with the assets" -> "Prepare the assets").
    verb: str = "Complete"
    # Words in the object that pick this playbook whatever the verb ("the board meeting" -> meeting).
    nouns: frozenset[str] = frozenset()


def _verbs(*words: str) -> frozenset[str]:
    return frozenset(words)


def _open(title: str, purpose: str, done: str, minutes: int, *tags: str) -> StepPattern:
    return StepPattern(title, purpose, done, minutes, tags, "open")


def _core(title: str, purpose: str, done: str, minutes: int, *tags: str) -> StepPattern:
    return StepPattern(title, purpose, done, minutes, tags, "core")


def _close(title: str, purpose: str, done: str, minutes: int, *tags: str) -> StepPattern:
    return StepPattern(title, purpose, done, minutes, tags, "close")


MEETING = Playbook(
    "meeting",
    _verbs("present", "pitch", "speak", "facilitate"),
    (
        _open("Set the goal and agenda for {obj}", "Know what it must achieve", "Goal and agenda written", 30,
              "planning"),
        _core("Prepare the material for {obj}", "Have the content ready", "Slides, notes or handouts drafted", 120,
              "deep-work"),
        _core("Rehearse {obj}", "Find the rough edges before the audience does", "Run through once, timed", 45,
              "review"),
        _close("Hold {obj}", "Do it", "Held; decisions noted", 60),
        _close("Send follow-ups from {obj}", "Turn it into action", "Notes and actions sent", 20, "admin"),
    ),
    verb="Prepare",
    nouns=frozenset({"meeting", "talk", "presentation", "keynote", "webinar", "workshop", "pitch", "demo",
                     "interview", "review", "retro", "retrospective", "standup", "board", "call", "lecture"}),
)  # fmt: skip

TRIP = Playbook(
    "trip",
    _verbs("travel", "visit", "fly"),
    (
        _open("Set dates and budget for {obj}", "Fix the frame", "Dates and budget agreed", 20, "planning"),
        _core("Book travel for {obj}", "Get there and back", "Tickets booked", 60, "admin"),
        _core("Book accommodation for {obj}", "Somewhere to stay", "Accommodation confirmed", 45, "admin"),
        _core("Plan the itinerary for {obj}", "Know what happens when", "Day-by-day plan", 60, "planning"),
        _close("Pack and check documents for {obj}", "Leave nothing behind", "Passport, tickets, bag ready", 30,
               "admin"),
    ),
    verb="Arrange",
    nouns=frozenset({"trip", "travel", "vacation", "journey", "flight", "honeymoon"}),
)  # fmt: skip

ROUTINE = Playbook(
    "routine",
    _verbs(),
    (
        _open("Define the steps and checklist for {obj}", "Know what each run does", "A checklist of steps", 30,
              "planning"),
        _core("Block recurring time for {obj}", "Make room for it every time", "Recurring slot in the calendar",
              15, "admin"),
        _core("Do the first run of {obj}", "Try it for real", "First run done; notes on friction", 60),
        _close("Review and adjust {obj} after a few runs", "Keep what works", "Checklist updated", 20, "review"),
    ),
    verb="Set up",
    nouns=frozenset({"routine", "habit", "daily", "weekly", "monthly", "recurring", "every", "ritual", "cadence"}),
)  # fmt: skip

PLAYBOOKS: tuple[Playbook, ...] = (
    Playbook(
        "launch",
        _verbs("launch", "ship", "release", "announce", "publish", "roll", "go", "relaunch"),
        (
            _open("Define goal, audience and success measure for {obj}", "Know what done looks like",
                  "Goal, audience and one success metric written down", 30, "planning"),
            _core("Prepare the content and assets for {obj}", "Have everything the launch needs",
                  "All content and assets drafted", 120, "deep-work"),
            _close("Review and test {obj}", "Catch mistakes before the audience does",
                   "Reviewed end to end; issues fixed", 45, "review"),
            _close("Launch {obj}", "Put it in front of the audience", "Live and announced", 30, "admin"),
            _close("Follow up on {obj} and record results", "Learn from the launch",
                   "Results against the success measure noted", 30, "review"),
        ),
        verb="Prepare",
    ),
    Playbook(
        "write",
        _verbs("write", "draft", "blog", "document", "compose", "prepare", "create", "rewrite", "edit"),
        (
            _open("Outline {obj}", "Decide the structure and key points", "Outline with key points", 30, "planning"),
            _core("Write the first draft of {obj}", "Get the whole thing down", "Complete first draft", 120,
                  "deep-work", "writing"),
            _close("Edit and polish {obj}", "Make it clear and correct", "Edited; read aloud once", 60, "writing",
                   "review"),
            _close("Deliver {obj}", "Send or publish it", "Sent or published", 20, "admin"),
        ),
        verb="Write",
    ),
    Playbook(
        "fix",
        _verbs("fix", "debug", "repair", "resolve", "troubleshoot", "patch"),
        (
            _open("Reproduce {obj}", "See the failure for yourself", "A reliable reproduction", 45, "deep-work"),
            _core("Find the cause of {obj}", "Fix the cause, not the symptom", "Root cause identified", 90,
                  "deep-work"),
            _core("Fix {obj} with a test", "Make it not come back", "Fix and a failing-then-passing test", 90,
                  "deep-work", "coding"),
            _close("Deploy and verify the fix for {obj}", "Confirm it in the real place", "Verified live", 30,
                   "admin"),
        ),
        verb="Fix",
    ),
    Playbook(
        "hire",
        _verbs("hire", "recruit", "find", "staff", "contract"),
        (
            _open("Write the role description for {obj}", "Know who you are looking for",
                  "Responsibilities, must-haves and budget written", 60, "writing"),
            _core("Post the job ad for {obj}", "Fill the funnel", "Posted; 10+ candidates", 90, "admin"),
            _close("Screen applicants for {obj}", "Keep only the real fits", "Shortlist of 3-5", 120, "review"),
            _close("Interview the shortlist for {obj}", "Choose on evidence", "Interviews held; scorecards done",
                   240),
            _close("Check references and make an offer for {obj}", "Close the best candidate",
                   "Offer sent and accepted", 60, "admin"),
            _close("Plan onboarding for {obj}", "A good first week", "First-week plan and accounts ready", 45,
                   "planning"),
        ),
        verb="Prepare",
    ),
    Playbook(
        "migrate",
        _verbs("migrate", "move", "port", "upgrade", "switch", "transfer", "consolidate"),
        (
            _open("Inventory the data and dependencies of {obj}", "Know the data, users and dependencies",
                  "Inventory of data, integrations and owners", 60, "planning"),
            _open("Plan the cut-over and rollback for {obj}", "Never be stuck half way",
                  "Cut-over plan with a rollback", 60, "planning"),
            _core("Run a trial migration of {obj}", "Find the surprises on a copy", "Trial run on a copy checked",
                  120, "deep-work"),
            _close("Migrate {obj}", "Move for real", "Everything moved", 180, "deep-work"),
            _close("Verify {obj} after the move", "Confirm nothing was lost", "Counts match; users switched", 60,
                   "review"),
            _close("Retire the old setup", "No double running", "Old system archived or cancelled", 30, "admin"),
        ),
        verb="Migrate",
    ),
    Playbook(
        "onboard",
        _verbs("onboard", "welcome", "kick", "kickoff"),
        (
            _open("Send the contract and welcome pack to {obj}", "Start on a clear footing",
                  "Signed contract; welcome pack sent", 30, "admin"),
            _core("Hold the kickoff call with {obj}", "Agree goals, contacts and cadence", "Kickoff notes shared",
                  60),
            _core("Set up accounts, access and workspace for {obj}", "Remove friction before work starts",
                  "Access working on both sides", 60, "admin"),
            _close("Agree the first milestones with {obj}", "Make progress visible", "Milestones and dates agreed",
                   30, "planning"),
            _close("Check in with {obj} after the first week", "Catch problems early", "Check-in held; fixes noted",
                   20, "review"),
        ),
        verb="Prepare",
        nouns=frozenset({"client", "customer", "account"}),
    ),
    Playbook(
        "build",
        _verbs("build", "implement", "develop", "code", "automate", "integrate", "set", "setup", "configure",
               "add", "make", "design", "refactor", "install", "connect", "redesign", "rebuild"),
        (
            _open("Specify {obj}", "Agree on what it must do", "Requirements and acceptance checks", 45, "planning"),
            _core("Design {obj}", "Choose the approach before coding", "Design notes", 60, "deep-work"),
            _core("Implement {obj}", "Make it work", "Working implementation", 240, "deep-work", "coding"),
            _close("Test {obj}", "Prove it works", "Acceptance checks pass", 90, "coding", "review"),
            _close("Release {obj}", "Put it to use", "Released and documented", 45, "admin"),
        ),
        verb="Build",
    ),
    Playbook(
        "learn",
        _verbs("learn", "study", "research", "explore", "investigate", "understand", "evaluate", "compare",
               "analyse", "analyze", "assess", "benchmark", "audit"),
        (
            _open("Frame the questions about {obj}", "Know what you need to find out", "Written questions", 20,
                  "planning"),
            _core("Gather sources on {obj}", "Find the best material", "A short reading list", 45, "research"),
            _core("Study {obj}", "Work through the material", "Notes answering each question", 120, "deep-work",
                  "research"),
            _close("Summarise what you learned about {obj}", "Make it reusable", "A one-page summary", 45,
                   "writing"),
        ),
        verb="Research",
    ),
    Playbook(
        "organise",
        _verbs("organise", "organize", "plan", "schedule", "book", "arrange", "host", "run", "throw", "coordinate"),
        (
            _open("Decide scope, date and budget for {obj}", "Fix the frame", "Scope, date and budget set", 30,
                  "planning"),
            _core("List and book what {obj} needs", "Secure people, places and tools", "Bookings confirmed", 60,
                  "admin"),
            _core("Prepare {obj}", "Get everything ready", "Checklist complete", 90),
            _close("Carry out {obj}", "Do it", "Done as planned", 120),
            _close("Wrap up {obj}", "Close loose ends", "Follow-ups sent; notes filed", 30, "admin"),
        ),
        verb="Arrange",
    ),
)  # fmt: skip

GENERIC = Playbook(
    "generic",
    frozenset(),
    (
        _open("Clarify what done means for {obj}", "Know what done looks like", "Outcome and done-criteria written",
              20, "planning"),
        _core("Gather what {obj} needs", "Have the inputs at hand", "Inputs collected", 30),
        _core("{verb} {obj}", "Make the change", "Work complete", 120, "deep-work"),
        _close("Check {obj} is done and hand it over", "Check it and hand it over", "Reviewed and delivered", 30,
               "review"),
    ),
)  # fmt: skip

# Playbooks that an object's nouns pick whatever the verb, most specific first.
_BY_NOUN: tuple[Playbook, ...] = (ROUTINE, TRIP, MEETING, next(p for p in PLAYBOOKS if p.name == "onboard"))
_HABIT = frozenset({"routine", "habit", "ritual", "cadence", "recurring"})
_OBJECT_WORD = re.compile(r"[a-z][a-z'-]*")
# Verbs that name the doing of a meeting-like thing rather than writing or building it.
_MEETING_VERBS = frozenset({"prepare", "plan", "run", "host", "organise", "organize", "give", "hold", "present",
                            "facilitate", "schedule", "arrange"})  # fmt: skip


def pick_playbook(verb: str) -> Playbook:
    """The playbook for an intent's first verb (`generic` when none claims it)."""
    return next((playbook for playbook in (*PLAYBOOKS, MEETING, TRIP) if verb in playbook.verbs), GENERIC)


def choose_playbook(verb: str, goal: str) -> Playbook:
    """The playbook for an intent: a routine, trip, meeting or client by the goal's nouns, else by its verb."""
    words = set(_OBJECT_WORD.findall(goal.lower()))
    by_verb = pick_playbook(verb)
    if words & _HABIT and by_verb.name not in ("fix", "migrate"):
        return ROUTINE
    if words & ROUTINE.nouns and (by_verb.name in ("generic", "organise") or verb in ("set", "setup", "start")):
        return ROUTINE
    if (
        words & (TRIP.nouns | {"holiday"})
        and not words & {"party", "parties"}
        and by_verb.name
        in (
            "organise",
            "generic",
            "trip",
        )
    ):
        return TRIP
    if words & MEETING.nouns and (verb in _MEETING_VERBS or by_verb is GENERIC):
        return MEETING
    onboard = _BY_NOUN[-1]
    if by_verb is onboard or (words & onboard.nouns and verb in ("onboard", "welcome", "set", "setup")):
        return onboard
    return by_verb


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of deliverable: the words that name it, the verb its title starts with, its typical work."""

    name: str
    words: re.Pattern[str]
    verb: str
    minutes: int
    tags: tuple[str, ...]
    purpose: str


def _kind(name: str, words: str, verb: str, minutes: int, tags: tuple[str, ...], purpose: str) -> Kind:
    return Kind(name, re.compile(rf"\b(?:{words})\b", re.IGNORECASE), verb, minutes, tags, purpose)


KINDS: tuple[Kind, ...] = (
    _kind("integration", r"integrations?|api|apis|webhooks?|sso|oauth|sync|connectors?|single sign-on", "Set up",
          300, ("deep-work", "coding"), "Connect the systems and prove data flows end to end"),
    _kind("page", r"pages?|landing|website|site|homepage|microsite|portal|storefront|shop", "Build", 180,
          ("deep-work",), "A page people can use"),
    _kind("payments", r"stripe|paypal|payments?|billing|checkout|subscriptions? billing|paddle", "Set up", 300,
          ("deep-work", "coding"), "Take money reliably, tested with a real card"),
    _kind("email", r"emails?|newsletters?|drip|mailings?|press release|announcements?", "Write", 120,
          ("writing",), "Words that get read"),
    _kind("deck", r"deck|slides|slide deck|presentation|keynote|pitch|live demo|demo", "Prepare", 120, ("deep-work",),
          "A clear story in slides"),
    _kind("photos", r"photos?|photography|photoshoot|headshots?|product shots", "Shoot", 120, ("deep-work",),
          "Shot, edited and exported"),
    _kind("video", r"videos?|podcasts?|episodes?|recordings?|screencasts?|trailer|reel", "Record", 180,
          ("deep-work",), "Recorded and edited"),
    _kind("design", r"logo|mockups?|wireframes?|banners?|graphics?|illustrations?|branding|icons?|thumbnails?|"
          r"visuals?|ui|design system|screens?|mode|theme|guidelines", "Design", 120, ("deep-work",),
          "Visuals that fit the brand"),
    _kind("tests", r"tests?|test suite|qa|regression suite", "Write", 90, ("coding", "review"),
          "Checks that catch regressions"),
    _kind("writing", r"posts?|articles?|blog|copy|docs|documentation|guides?|reports?|proposals?|brief|"
          r"case stud(?:y|ies)|faqs?|scripts?|whitepapers?|e-?books?|readme|changelog|release notes|"
          r"job (?:description|ad|post)|summary|memo|letters?|chapters?|essays?|content|tutorials?|handbook|"
          r"specs?|specification|requirements|prd|policy|terms|privacy|bio|cover letter|cv|resume|speech|notes|"
          r"questions|survey questions",
          "Write", 120, ("writing",), "Drafted, edited and ready to share"),
    _kind("software", r"app|apps|features?|dashboards?|tools?|bot|pipelines?|exports?|imports?|automations?|"
          r"forms?|endpoints?|services?|cli|plugins?|extensions?|widgets?|prototype|mvp|backend|frontend|"
          r"database|schema|search|login|sign-?up|flow|integration tests|cron|job|reports? generator",
          "Build", 240, ("deep-work", "coding"), "Working and tested"),
    _kind("research", r"surveys?|user interviews|customer interviews|research|analysis|benchmarks?|audit|"
          r"competitor|market|study|literature", "Run", 120, ("research",), "Findings written down"),
    _kind("plan", r"budgets?|pricing|plan|timeline|roadmap|strategy|agenda|schedule|itinerary|checklist|goals|"
          r"kpis?|targets?|calendar|shipping rates|rates|price points|"
          r"okrs?|forecast|price list|run of show|seating", "Draft", 60, ("planning",), "Agreed and written down"),
    _kind("booking", r"venue|flights?|hotels?|accommodation|catering|tickets?|transport|car hire|"
          r"restaurant|dinner|lunch|speakers?|photographer|dj|band|av|rental car|car rental|villa|airbnb|apartment|"
          r"meeting room|hotel room", "Book", 45, ("admin",),
          "Booked and confirmed"),
    _kind("invites", r"invitations?|invites?|rsvps?|save the dates?", "Send", 30, ("admin",),
          "Sent; replies tracked"),
    _kind("contract", r"contracts?|agreements?|nda|invoices?|sow|statement of work|quotes?|offer letter",
          "Draft", 45, ("admin",), "Ready to sign"),
    _kind("meeting", r"meetings?|calls?|kickoff|kick-off|workshops?|sessions?|demos?|standups?|retros?|"
          r"reviews?|1:1s?|interviews?|rehearsal|dry run|q&a", "Hold", 60, (), "Held; notes and actions sent"),
    _kind("training", r"training|courses?|lessons?|handover", "Run", 90, (),
          "People can do it on their own"),
)  # fmt: skip


def kind_of(text: str) -> Kind | None:
    """The kind of a named deliverable by its last matching noun ("the pricing page" -> page), if any."""
    best: tuple[int, int, Kind] | None = None
    for order, kind in enumerate(KINDS):
        for match in kind.words.finditer(text):
            # The head noun is usually last ("email landing page" is a page); ties go to the earlier kind.
            candidate = (match.end(), -order, kind)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    return best[2] if best else None
