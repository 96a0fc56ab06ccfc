"""Reading an intent: its verb, its goal, the qualifiers that describe the goal, and the deliverables it names.

"Launch a paid newsletter tier for our 2,400 subscribers by the end of January, with a pricing page, a
welcome email sequence and a Stripe integration" reads as verb `launch`, goal `the paid newsletter tier`,
qualifier `for our 2,400 subscribers`, the due phrase `by the end of January` (due.py) and three
deliverables, each a noun phrase: `the pricing page`, `the welcome email sequence`, `the Stripe integration`.

Careful hand-written parsing, not a library: no small parser fits (spaCy and NLTK need model or data
downloads this project cannot make at run time, and a tagger would still need the rules below). Steps:

1. The due phrase (due.py) and a polite lead-in ("I need to", "Please", "Let's") are cut; the text is split
   into sentences. Bulleted or numbered lines are left to offline.py (the user wrote the steps).
2. The first sentence is split at a list marker (", with", "including", "plus", ":", " - "): the head is
   the goal, the tail a list. The head may itself be a sequence of actions ("Write the spec, then build the
   prototype and demo it"): a clause after ", then", ";" or "and" that starts with a verb is an action.
3. The goal's object loses its qualifiers ("for ...", "so that ...", "because ...", and, when it is long,
   "on/in/at/from/with ..."); the qualifiers go to the tasks' descriptions, never into titles. An object
   that is a list ("the blog post and the newsletter") is the list of deliverables.
4. A list splits at commas, semicolons, "and", "&", "plus", "as well as" (not inside fixed pairs such as
   "terms and conditions"); an item that starts with a verb is an action with its own verb, else a noun
   phrase; "then" makes an item follow the one before.
5. Later sentences that start with a verb are actions; ones that say what is needed ("It needs a FAQ and a
   demo video") are deliverables; the rest are notes for the description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from planner_engine.domain.due import DueReading, read_due
from planner_engine.domain.playbooks import kind_of

TITLE_LIMIT = 70


def _words(text: str) -> list[str]:
    return text.split()


_LONG_OBJECT = 40

_LEAD_IN = re.compile(
    r"^(?:(?:please|pls|hey|ok(?:ay)?|so|hi|todo|task|goal)\b[,:!\s]*)*"
    r"(?:(?:i|we)\s+(?:really\s+)?(?:need|want|have|must|should|plan|hope|intend|got)\s+to\s+|"
    r"(?:i|we)(?:'d|\s+would)\s+like\s+to\s+|(?:i'm|i\s+am|we're|we\s+are)\s+(?:going|planning|trying)\s+to\s+|"
    r"help\s+me\s+(?:to\s+)?|can\s+you\s+(?:help\s+me\s+)?|let'?s\s+|need\s+to\s+|time\s+to\s+|"
    r"(?:i|we)\s+(?:will|shall)\s+|(?:it'?s\s+)?time\s+to\s+)?",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])|\n+")
_LIST_LINE = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")
_MARKER = re.compile(
    r",?\s+(?:with|including|incl\.|plus|featuring|covering|consisting\s+of|made\s+up\s+of|that\s+includes?|"
    r"which\s+includes?|comprising)\s+|\s*:\s+|\s+[-\u2013\u2014]+\s+|\s+\(\s*",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"\s*;\s*|\s*,\s*(?:and\s+|&\s+|plus\s+|as\s+well\s+as\s+)?(?:then\s+)?(?!\d)|\s+(?:and|&|plus|as\s+well\s+as)\s+"
    r"(?:then\s+)?|\s+then\s+",
    re.IGNORECASE,
)
_THEN = re.compile(r"(?:^|[\s,;])(?:and\s+)?then\s+$|;\s*$", re.IGNORECASE)
_PAIRS = re.compile(
    r"\b(terms\s+and\s+conditions|pros\s+and\s+cons|q\s*&\s*a|q\s+and\s+a|r\s*&\s*d|research\s+and\s+development|"
    r"black\s+and\s+white|sales\s+and\s+marketing|design\s+and\s+build|hr\s+and\s+payroll|"
    r"bread\s+and\s+butter|rock\s+and\s+roll|b&b|at&t|m&a|p&l|salt\s+and\s+pepper|trial\s+and\s+error)\b",
    re.IGNORECASE,
)
_ALWAYS_QUALIFIER = re.compile(
    r"\s+(?:(?:reported|requested|raised|found|used|needed|owned|sent|asked\s+for)\s+by|to(?=\s+(?:[\d\x00][\d,.\x00]*\s+[a-z]|(?:all|every|our|one|two|three|four|five|six|seven|eight|"
    r"nine|ten|twelve|twenty|fifty|hundreds?|thousands?)\s))|"
    r"last\s+(?:week|month|year|quarter|night)|yesterday|for|so\s+that|so|because|since|in\s+order\s+to|as\s+part\s+of|ahead\s+of|every|each|who|which|whose|"
    r"to(?=\s+(?:help|get|make|reach|grow|increase|reduce|improve|support|attract|keep|win|save|let|allow|"
    r"enable|show|test|validate|announce|celebrate|prepare|replace)\b))\s+",
    re.IGNORECASE,
)
_LONG_QUALIFIER = re.compile(
    r"\s+(?:on|in|at|from|with|about|across|using|via|into|under|over|that|within|between|during|after|"
    r"before|through|to|of)\s+",
    re.IGNORECASE,
)
_DETERMINERS = frozenset(
    _words("""
    the a an our my your their his her its this that these those all some every each any new up out off over back
    down in on it them him me us
    """)
)
_KEEP_DETERMINER = frozenset(
    _words("""
    the our my your their his her its this that these those every each all some
    """)
)
_PREPOSITIONS = frozenset(_words("to for with on in at from into about by of"))
_PHRASAL = frozenset(_words("set kick roll clean back sign follow put reach"))
_QUESTION_WORDS = frozenset(_words("why how what whether if when where which who"))
_PRONOUNS = frozenset(_words("it them him her us me everything everyone something"))
_NUMBER = re.compile(r"^(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|several|multiple|a few)$")
# Words that are verbs at the start of a clause (an imperative) ...
VERBS = frozenset(
    _words("""
    launch ship release announce publish roll write draft blog document compose prepare create rewrite edit fix
    debug repair resolve troubleshoot patch build implement develop code automate integrate set setup configure
    add make design refactor install connect learn study research explore investigate understand evaluate compare
    analyse analyze assess benchmark audit organise organize plan schedule book arrange host run throw coordinate
    hire recruit find staff onboard welcome migrate move port upgrade switch transfer consolidate travel visit
    present pitch speak facilitate send email call review update test record buy order pay file clean tidy renew
    submit apply register sign finalise finalize finish complete get do start post share outline summarise
    summarize read meet negotiate close invoice export import back archive delete cancel confirm check deploy
    translate proofread reply follow collect gather train interview invite print pack hold give deliver demo
    improve reduce increase grow replace remove redesign rebuild set-up kick draft shoot film edit produce choose
    pick decide define map clean-up migrate backup restore secure rotate monitor measure track optimise optimize
    polish practise practice rehearse brief ask contact reach notify
    """)
)
VERBS |= frozenset(
    _words("put cut repaint paint declutter sell rent hang assemble upload sort empty wash mow relaunch")
)
# ... but these also start noun phrases ("design review", "launch email"), so they need a determiner after them
# to count as a verb in a list item.
_NOUNY = frozenset(
    _words("""
    design review record plan post call test order pack export import backup run schedule draft outline update set
    report check survey training demo launch kickoff sign email file start finish close share audit benchmark
    build release code patch ship fix move switch transfer edit print
    """)
)
_PEOPLE = re.compile(
    r"\b(?:team|direct reports?|colleagues|clients?|customers?|partners?|stakeholders|investors|manager|board|"
    r"family|friends|kids|everyone|accountant|lawyer|coach|mentor|agency)\b",
    re.IGNORECASE,
)
_NEEDS = re.compile(
    r"^(?:(?:it|this|that|the\s+\w+|we)\s+)?(?:needs?|includes?|requires?|must\s+(?:have|include)|"
    r"should\s+(?:have|include)|will\s+(?:need|have|include)|deliverables?(?:\s+are)?:?|scope:?|"
    r"(?:we|i)\s+need)\s+",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Deliverable:
    """A thing the intent names: a noun phrase (`the pricing page`) or an action (`build the prototype`)."""

    text: str  # the noun phrase, determiner normalised ("a pricing page" -> "the pricing page")
    verb: str = ""  # the action's own verb, lowercased; "" for a noun phrase
    after_previous: bool = False  # "X, then Y": Y follows X
    detail: str = ""  # its own qualifier, cut to keep the title short


@dataclass(frozen=True, slots=True)
class ReadIntent:
    verb: str  # the first verb, lowercased ("" when the intent starts otherwise)
    goal: str  # the goal's object without qualifiers ("the paid newsletter tier")
    qualifiers: list[str] = field(default_factory=list)  # "for our 2,400 subscribers"
    notes: list[str] = field(default_factory=list)  # later sentences that are neither actions nor lists
    deliverables: list[Deliverable] = field(default_factory=list)
    due: DueReading = field(default_factory=DueReading)
    sequential: bool = False  # the intent is a sequence of actions ("write X, then build Y"): plan it as given
    headline: str = ""  # the goal's clause as written, without the due phrase or the list


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" ,;:.!?-\u2013\u2014()\"'")


def normalise_object(text: str) -> str:
    """ "a pricing page" -> "the pricing page"; a bare noun gets "the"; a proper name or a number stays."""
    text = _clean(text)
    if not text:
        return text
    first, _, rest = text.partition(" ")
    lowered = first.lower()
    if lowered in ("a", "an") and rest:
        return f"the {rest}"
    kept = _KEEP_DETERMINER | _PRONOUNS | _PREPOSITIONS | _QUESTION_WORDS
    if lowered in kept or _NUMBER.match(lowered) or first[:1].isdigit():
        return text
    if not rest and (first[:1].isupper() or kind_of(first) is None):
        return text  # "Stripe", "Rust", "pgvector"
    last = text.split()[-1].lower()
    if last.endswith("s") and not last.endswith(("ss", "us", "is")):
        return text  # a bare plural is general: "vector databases", "usage charts"
    if first[:1].isupper() and first[1:2].isupper():
        return f"the {text}"  # "the CRM", "the API docs"
    if first[:1].isupper():
        return text  # "Acme's onboarding", "Lisbon"
    return f"the {text}"


def _protect(text: str) -> tuple[str, dict[str, str]]:
    """Fixed pairs ("terms and conditions") and thousands ("2,400") hidden from the list splitter."""
    saved: dict[str, str] = {}

    def keep(match: re.Match[str]) -> str:
        token = f"\x00{len(saved)}\x00"
        saved[token] = match.group(0)
        return token

    return re.sub(r"\d,\d|" + _PAIRS.pattern, keep, text, flags=re.IGNORECASE), saved


def _restore(text: str, saved: dict[str, str]) -> str:
    for token, original in saved.items():
        text = text.replace(token, original)
    return text


def _split_list(text: str) -> list[tuple[str, bool]]:
    """The items of an inline list, each with whether "then" put it after the item before."""
    hidden, saved = _protect(text)
    items: list[tuple[str, bool]] = []
    position = 0
    then = False
    for match in _SEPARATOR.finditer(hidden):
        item = _clean(_restore(hidden[position : match.start()], saved))
        if item:
            items.append((item, then))
        then = "then" in match.group(0).lower() or ";" in match.group(0)
        position = match.end()
    last = _clean(_restore(hidden[position:], saved))
    if last:
        items.append((last, then))
    return items


def starts_with_verb(text: str, *, in_list: bool = True) -> bool:
    words = text.split()
    if not words:
        return False
    first = words[0].lower().strip(",.")
    if first not in VERBS:
        return False
    if not in_list or first not in _NOUNY:
        return len(words) > 1 or not in_list
    if len(words) < 2:
        return False
    second = words[1].lower()
    return second in _DETERMINERS or bool(_NUMBER.match(second)) or second in _PREPOSITIONS


def head_of(obj: str) -> str:
    """The object up to its first preposition after two words ("our CRM from HubSpot" -> "our CRM")."""
    cut = next((m for m in _LONG_QUALIFIER.finditer(obj) if len(obj[: m.start()].split()) >= 2), None)
    return obj[: cut.start()] if cut else obj


def split_qualifiers(obj: str) -> tuple[str, list[str]]:
    """(the object's core, its qualifiers): always at "for / so that / because ..."; at "on / in / with ..."
    only while the object is long."""
    qualifiers: list[str] = []
    hidden, saved = _protect(obj)
    match = _ALWAYS_QUALIFIER.search(hidden + " ")  # the space: a qualifier may end the text ("last week")
    if match and match.start() > 0:
        qualifiers.append(_clean(_restore(hidden[match.start() :], saved)))
        hidden = hidden[: match.start()]
    while len(_restore(hidden, saved)) > _LONG_OBJECT:
        # The first preposition after the head's first two words.
        cut = next((m for m in _LONG_QUALIFIER.finditer(hidden) if len(hidden[: m.start()].split()) >= 2), None)
        if cut is None:
            break
        qualifiers.insert(0, _clean(_restore(hidden[cut.start() :], saved)))
        hidden = hidden[: cut.start()]
    core = re.sub(r"(?:\s+(?:on|in|at|for|to|with|of|and|from|by))+$", "", _clean(_restore(hidden, saved)))
    return core, qualifiers


def _names_a_partner(marker: re.Match[str], text: str) -> bool:
    """ "with Northwind", "with the product team": a name, or one thing that is no kind of deliverable, after
    "with" is who or what the work is with, not a list of deliverables."""
    if "with" not in marker.group(0).lower():
        return False
    rest = text[marker.end() :]
    parts = re.split(r"[,;]|\s+(?:and|on|in|for|to|including|plus)\s+", rest, maxsplit=1)
    after = parts[0]
    single = len(parts) == 1 or not re.match(r"\s*[,;]|\s+(?:and|plus)\s+", rest[len(after) :])
    if single and _PEOPLE.search(after):
        return True
    if kind_of(after) is not None:
        return False
    return after[:1].isupper() or single


def _item(text: str, then: bool, *, in_list: bool = True) -> Deliverable:
    if starts_with_verb(text, in_list=in_list):
        verb, _, rest = text.partition(" ")
        verb = verb.lower()
        if verb in ("set", "back", "kick", "follow", "clean", "sign", "roll", "reach") and rest.lower().startswith(
            ("up ", "off ", "out ", "in ")
        ):
            particle, _, rest = rest.partition(" ")
            verb = f"{verb} {particle.lower()}"
        core, detail = _item_core(rest)
        return Deliverable(core, verb=verb, after_previous=then, detail=detail)
    core, detail = _item_core(text)
    return Deliverable(core, after_previous=then, detail=detail)


def _item_core(text: str) -> tuple[str, str]:
    core, qualifiers = split_qualifiers(text)
    return normalise_object(core), " ".join(qualifiers)


def read_intent(intent: str, *, now: datetime, constraints: dict[str, object]) -> ReadIntent:
    """The intent read into verb, goal, qualifiers, deliverables, notes and due phrase (module docstring)."""
    lines = [line for line in intent.strip().splitlines() if line.strip() and not _LIST_LINE.match(line)]
    text = " ".join(lines) or intent.strip()
    due = read_due(text, now=now, constraints=constraints)
    if due.start >= 0:
        text = f"{text[: due.start].rstrip(' ,')} {text[due.end :].lstrip()}".strip()
        text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    sentences = [_clean(part) for part in _SENTENCE.split(text) if _clean(part)]
    if not sentences:
        return ReadIntent(verb="", goal=_clean(intent)[:200], due=due)
    first = _LEAD_IN.sub("", sentences[0], count=1).strip() or sentences[0]
    head, tail = first, ""
    hidden, saved = _protect(first)
    marker = next((m for m in _MARKER.finditer(hidden) if m.start() > 0 and not _names_a_partner(m, hidden)), None)
    if marker:
        head, tail = _restore(hidden[: marker.start()], saved), _restore(hidden[marker.end() :], saved)
    clauses = _split_list(head)
    if len(clauses) > 1 and clauses[0][0].lower() in VERBS and starts_with_verb(clauses[1][0], in_list=False):
        # "Write and send the newsletter": one goal, the first verb leads.
        clauses = [(f"{clauses[0][0]} {clauses[1][0].partition(' ')[2]}", False), *clauses[2:]]
    # The head is one clause unless later parts start with a verb ("Write the spec, then build the demo").
    main, actions = clauses[0][0], []
    rest_of_head: list[str] = []
    for clause, then in clauses[1:]:
        if starts_with_verb(clause, in_list=False):
            actions.append(_item(clause, then or True, in_list=False))
        elif actions:
            actions.append(_item(clause, then, in_list=False))
        else:
            rest_of_head.append(clause)
    if rest_of_head and not actions:
        main = f"{', '.join([main, *rest_of_head[:-1]])} and {rest_of_head[-1]}"
    verb, _, obj = main.partition(" ")
    verb = verb.lower().strip(",.")
    if verb not in VERBS:  # "Newsletter launch in January": no verb, the whole clause is the goal
        verb, obj = "", main[:1].lower() + main[1:] if main[1:2].islower() else main
    obj = re.sub(r"^(?:for|on|with)\s+", "", obj, flags=re.IGNORECASE)  # "prepare for the review"
    if verb in _PHRASAL and obj.lower().startswith(("up ", "off ", "out ", "together ")):
        obj = obj.partition(" ")[2]
        verb = {"put": "prepare", "roll": "roll"}.get(verb, verb)
    core, qualifiers = split_qualifiers(obj or main)
    deliverables: list[Deliverable] = []
    # "the blog post and the newsletter" is a list; "the help center into German and French" is one object.
    object_items = _split_list(core) if not actions and head_of(core) == core else []
    if len(object_items) > 1 and all(not starts_with_verb(item) for item, _ in object_items):
        for item, _ in object_items:
            text, detail = _item_core(item)
            deliverables.append(Deliverable(text, verb=verb, detail=detail))
    if actions:
        # A sequence of actions: the first clause is an action too, and the plan is the sequence.
        text, detail = _item_core(core)
        deliverables.append(Deliverable(text, verb=verb, detail=detail))
        deliverables += actions
    if tail:
        deliverables += [_item(item, then) for item, then in _split_list(tail)]
    notes: list[str] = []
    sequential = bool(actions)
    for sentence in sentences[1:]:
        sentence = _LEAD_IN.sub("", sentence, count=1).strip()
        needs = _NEEDS.match(sentence)
        if needs:
            deliverables += [_item(item, then) for item, then in _split_list(sentence[needs.end() :])]
        elif starts_with_verb(sentence, in_list=False) and sentence.split()[0].lower() not in ("do", "make"):
            found = [_item(item, then) for item, then in _split_list(sentence)]
            # A sentence of actions follows what came before it.
            deliverables += [replace(item, after_previous=True) for item in found]
        else:
            notes.append(sentence)
    goal = normalise_object(core) if core else _clean(main)
    return ReadIntent(
        verb=verb,
        goal=goal,
        qualifiers=qualifiers,
        notes=notes,
        deliverables=[d for d in deliverables if d.text or d.verb][:25],
        due=due,
        sequential=sequential,
        headline=_clean(main)[:1].upper() + _clean(main)[1:200],
    )


def shorten(title: str, limit: int = TITLE_LIMIT) -> str:
    """A title of at most `limit` characters, cut at a word and without a dangling little word."""
    title = _clean(title) or title.strip()[:limit]
    if len(title) <= limit:
        return title
    words: list[str] = []
    for word in title.split():
        if len(" ".join([*words, word])) > limit:
            break
        words.append(word)
    while len(words) > 2 and words[-1].lower() in {"and", "or", "the", "a", "an", "of", "for", "to", "with", "in",
                                                    "on", "at", "from", "by"}:  # fmt: skip
        words.pop()
    return _clean(" ".join(words)) or title[:limit]
