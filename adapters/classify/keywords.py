"""The first classifier: weighted Vietnamese keywords and phrases, every decision explained.

How a message is read:
1. A tracking code anywhere in it makes it a reply to that tip.
2. The text is folded (lower case, no diacritics), cut into words, digits and punctuation, and
   chat abbreviations are expanded ("ko" → "không", "dc" → "được", "sdt" → "số điện thoại").
3. At each word the longest phrase of the lexicon that starts there is matched, and a match
   that lies inside a longer one is dropped: "bỏ chạy" hides "chạy", while "có cần" and
   "cần sa", which only overlap, both count.
4. A phrase right after a negation ("không có ai bị thương") stops counting for a category or
   as a report; a "không" or "chưa" that ends a sentence ("…được không ạ?") asks a question.
5. The cues add up, each phrase once, into a score per category and three intent scores:
   tip = report cues + the best category's score,
   inquiry = question cues + procedure topics (half of them when nothing is asked),
   chatter = a prior + greetings, thanks, ads and off-topic cues.
   The highest wins. Inside a conversation everything that is not plainly chatter is a reply.
6. A tip whose best category scores too little is filed under "khac".
Confidence is a softmax over the intent scores (times the one over category scores for a tip),
and the reasons list the cues that counted most, for the officer who checks the decision.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from adapters.classify import lexicon
from domain.classification import Classification, Intent, find_tracking_code
from domain.text import fold
from domain.tip import TipCategory

# Groups of cues. Categories use the TipCategory values, which never clash with these.
REPORT = "report"
QUESTION = "question"
PROCEDURE = "procedure"
SOCIAL = "social"
ANSWER = "answer"
NEGATABLE = frozenset({REPORT, *TipCategory})

# Tunables, kept few. A message needs more than CHATTER_PRIOR of evidence to be worth an
# officer's time; a category needs MIN_CATEGORY to beat "khac".
CHATTER_PRIOR = 1.5
MIN_CATEGORY = 1.0
UNASKED_TOPIC = 0.5  # a procedure named without a question is weaker evidence of one
TOPICLESS_QUESTION = 0.5  # and a question about nothing the police handle, of an inquiry
FINAL_QUESTION = 1.8  # "… không?" / "… chưa?" at the end of a sentence
TEMPERATURE = 2.0
CODE_CONFIDENCE = 0.97
MAX_CHARS = 8000  # a tip body holds at most 4,000; past that nothing changes the decision
MAX_REASONS = 8

_BOUNDARY = "|"
_TOKEN = re.compile(r"\d+|[a-z]+|\?|[.!;,:…]+")
_ELONGATED = re.compile(r"([a-z])\1{2,}")


@dataclass(slots=True)
class _Entry:
    display: str
    weights: dict[str, float] = field(default_factory=dict)


def tokenise(text: str) -> list[str]:
    """Folded words and digits, '?' kept, other punctuation as clause boundaries."""
    folded = fold(text.replace("\n", " . "))
    out: list[str] = []
    prev_end, prev_digit = -1, False
    for match in _TOKEN.finditer(folded):
        token = match.group()
        if token == "?":
            out.append("?")
            prev_digit = False
        elif not token[0].isalnum():
            out.append(_BOUNDARY)
            prev_digit = False
        elif token.isdigit():
            out.append(token)
            prev_digit = True
        else:
            token = _ELONGATED.sub(r"\1", token)  # "chayyyy", "okkk"
            # "500k", "5tr", "2h": a unit written against its number is not an abbreviation.
            if prev_digit and match.start() == prev_end and token in lexicon.NUMBER_UNITS:
                token = lexicon.NUMBER_UNITS[token]
            out.append(token)
            prev_digit = False
        prev_end = match.end()
    return _expand(out)


def _expand(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for i, token in enumerate(tokens):
        prev = tokens[i - 1] if i else ""
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token == "dk" and nxt in lexicon.PROCEDURE_HEADS:
            expansion = "dang ky"
        elif token == "ck" and {prev, nxt} & {"vo", "vk"}:
            expansion = "chong"  # "vk ck": wife and husband, not a bank transfer
        elif token == "hk":
            expansion = "ho khau" if prev == "so" else "khong"
        else:
            expansion = lexicon.ABBREVIATIONS.get(token, token)
        out.extend(expansion.split())
    return out


class _Vocabulary:
    """Every phrase of the lexicon, folded and tokenised exactly like the messages."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, ...], _Entry] = {}
        groups: list[tuple[str, Mapping[str, float]]] = [
            (REPORT, lexicon.REPORT_CUES),
            (QUESTION, lexicon.QUESTION_CUES),
            (PROCEDURE, lexicon.PROCEDURE_CUES),
            (SOCIAL, lexicon.SOCIAL_CUES),
            (ANSWER, lexicon.ANSWER_CUES),
            *((category.value, cues) for category, cues in lexicon.CATEGORY_CUES.items()),
        ]
        for label, cues in groups:
            seen: set[tuple[str, ...]] = set()
            for phrase, weight in cues.items():
                key = self._key(phrase)
                if key in seen:
                    raise ValueError(f"{label}: {phrase!r} repeats another phrase once folded")
                seen.add(key)
                self._entry(key, phrase).weights[label] = float(weight)
        for phrase in (*lexicon.NEUTRAL, *lexicon.NEGATORS):
            self._entry(self._key(phrase), phrase)
        by_first: dict[str, set[int]] = defaultdict(set)
        for key in self.entries:
            by_first[key[0]].add(len(key))
        self.lengths: dict[str, tuple[int, ...]] = {
            first: tuple(sorted(ns, reverse=True)) for first, ns in by_first.items()
        }

    @staticmethod
    def _key(phrase: str) -> tuple[str, ...]:
        key = tuple(tokenise(phrase))
        if not key or _BOUNDARY in key:
            raise ValueError(f"{phrase!r} is not a phrase")
        return key

    def _entry(self, key: tuple[str, ...], phrase: str) -> _Entry:
        return self.entries.setdefault(key, _Entry(phrase))

    def matches(self, tokens: list[str]) -> list[tuple[int, tuple[str, ...]]]:
        """(start, phrase): the longest phrase at each word, unless a longer one covers it."""
        out: list[tuple[int, tuple[str, ...]]] = []
        covered = 0  # end of the furthest-reaching match so far
        for i, token in enumerate(tokens):
            for n in self.lengths.get(token, ()):
                key = tuple(tokens[i : i + n])
                if key in self.entries:
                    if i + n > covered:
                        out.append((i, key))
                        covered = i + n
                    break
        return out


_NEGATORS = tuple(sorted((tuple(n.split()) for n in lexicon.NEGATORS), key=len, reverse=True))
_ENDS = frozenset({_BOUNDARY, "?"})
_ASKING = frozenset({"khong", "chua"})


@dataclass(slots=True)
class _Evidence:
    scores: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    cues: list[tuple[float, str, str]] = field(default_factory=list)  # weight, label, display
    negated: list[str] = field(default_factory=list)


class KeywordClassifier:
    """Implements domain.classification.Classifier with the lexicon in adapters/classify."""

    def __init__(self) -> None:
        self._vocabulary = _Vocabulary()

    def classify(self, text: str, *, in_conversation: bool = False) -> Classification:
        text = (text or "")[:MAX_CHARS]
        code = find_tracking_code(text)
        tokens = tokenise(text)
        if code:
            return Classification(
                Intent.REPLY, None, CODE_CONFIDENCE, code, (f"mã tra cứu {code}",)
            )
        if not any(t[0].isalnum() for t in tokens):
            return Classification(Intent.CHATTER, None, 1.0, None, ("không có chữ",))
        evidence = self._evidence(tokens)
        return _decide(evidence, in_conversation=in_conversation)

    def _evidence(self, tokens: list[str]) -> _Evidence:
        evidence = _Evidence()
        if any(t in _ASKING and _ends_sentence(tokens, i + 1) for i, t in enumerate(tokens)):
            evidence.scores[QUESTION] += FINAL_QUESTION
            evidence.cues.append((FINAL_QUESTION, QUESTION, "… không/chưa?"))
        counted: dict[tuple[str, ...], bool] = {}  # phrase → counted once without negation
        for start, term in self._vocabulary.matches(tokens):
            entry = self._vocabulary.entries[term]
            if not entry.weights:
                continue
            negated = any(label in NEGATABLE for label in entry.weights) and _negated(tokens, start)
            counted[term] = counted.get(term, False) or not negated
        for term, plain in counted.items():
            entry = self._vocabulary.entries[term]
            for label, weight in entry.weights.items():
                if not plain and label in NEGATABLE and weight > 0:
                    evidence.negated.append(f"phủ định «{entry.display}» ({label})")
                    continue
                evidence.scores[label] += weight
                evidence.cues.append((weight, label, entry.display))
        return evidence


def _negated(tokens: list[str], start: int) -> bool:
    """A negator ends within the two words (of NEGATION_FILLERS) before `start`."""
    end = start
    for _ in range(3):
        if any(tuple(tokens[max(end - len(n), 0) : end]) == n for n in _NEGATORS):
            return True
        if end == 0 or tokens[end - 1] not in lexicon.NEGATION_FILLERS:
            return False
        end -= 1
    return False


def _ends_sentence(tokens: list[str], j: int) -> bool:
    for _ in range(3):
        if j < len(tokens) and tokens[j] in lexicon.QUESTION_TAILS:
            j += 1
    return j >= len(tokens) or tokens[j] in _ENDS


def _decide(evidence: _Evidence, *, in_conversation: bool) -> Classification:
    scores = evidence.scores
    categories = {c: scores.get(c.value, 0.0) for c in TipCategory}
    best = max(categories, key=lambda c: categories[c])  # dict order breaks ties
    if categories[best] < MIN_CATEGORY:
        best = TipCategory.KHAC
    question = scores[QUESTION]
    tip = scores[REPORT] + max(categories[best], 0.0)
    topic = scores[PROCEDURE]
    inquiry = question * (1.0 if topic > 0 else TOPICLESS_QUESTION) + topic * (
        1.0 if question > 0 else UNASKED_TOPIC
    )
    social = scores[SOCIAL]
    summary = f"điểm: tin báo {tip:.1f}, hỏi {inquiry:.1f}, trò chuyện {social:.1f}"

    if in_conversation:
        content = tip + inquiry + scores[ANSWER]
        # Inside a thread, anything with content answers the officer; thanks and stickers don't.
        if social > content:
            p = _softmax([social, content])[0]
            return _result(Intent.CHATTER, None, p, evidence, summary)
        p = _softmax([content + CHATTER_PRIOR, social])[0]
        return _result(Intent.REPLY, None, p, evidence, "trong hội thoại", summary)

    intents = {Intent.TIP: tip, Intent.INQUIRY: inquiry, Intent.CHATTER: social + CHATTER_PRIOR}
    intent = max(intents, key=lambda k: intents[k])  # ties go to tip, then inquiry
    p_intent = _softmax(list(intents.values()))[list(intents).index(intent)]
    if intent is not Intent.TIP:
        return _result(intent, None, p_intent, evidence, summary)
    floor = dict(categories)
    floor[TipCategory.KHAC] = max(floor[TipCategory.KHAC], MIN_CATEGORY)
    p_category = _softmax(list(floor.values()))[list(floor).index(best)]
    return _result(intent, best, p_intent * p_category, evidence, summary)


def _result(
    intent: Intent,
    category: TipCategory | None,
    confidence: float,
    evidence: _Evidence,
    *notes: str,
) -> Classification:
    wanted = _relevant(intent, category)
    cues = sorted((c for c in evidence.cues if c[1] in wanted), key=lambda c: (-abs(c[0]), c[2]))
    reasons = [f"{label} «{display}» {weight:+g}" for weight, label, display in cues]
    reasons = reasons[:MAX_REASONS] + evidence.negated[:2] + list(notes)
    return Classification(
        intent, category, round(min(max(confidence, 0.0), 1.0), 3), None, tuple(reasons)
    )


def _relevant(intent: Intent, category: TipCategory | None) -> set[str]:
    if intent is Intent.TIP:
        return {REPORT, category.value if category else ""}
    if intent is Intent.INQUIRY:
        return {QUESTION, PROCEDURE}
    if intent is Intent.CHATTER:
        return {SOCIAL}
    return {ANSWER, REPORT, QUESTION, PROCEDURE, *TipCategory}


def _softmax(values: list[float]) -> list[float]:
    top = max(values)
    exps = [math.exp((v - top) / TEMPERATURE) for v in values]
    total = sum(exps)
    return [e / total for e in exps]
