"""An in-process BM25 ranker over the published articles, the same on every engine.

Text is folded (no diacritics) so "lam can cuoc" matches "làm căn cước"; a question that has
diacritics also scores on its exact syllables, which tells "tạm trú" from "tâm trụ". Most
Vietnamese words are two syllables, so syllable pairs stand in for word segmentation.
Abbreviations (chat shorthand and procedure acronyms) are expanded before anything else.

Confidence is not the BM25 score, which grows with question length: it is how much of what the
question says (by idf) the best article covers, tempered by how far ahead of the runner-up it is.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from adapters.classify.lexicon import ABBREVIATIONS
from adapters.knowledge.synonyms import SYNONYMS
from domain.ports.knowledge import ProcedureMatch
from domain.procedure import Procedure
from domain.text import clean, fold

_WORD = re.compile(r"[^\W_]+")

# Function words and politeness: they say nothing about which procedure is meant.
STOPWORDS = frozenset(
    [
        "a",
        "ah",
        "ak",
        "anh",
        "ba",
        "bac",
        "bi",
        "cac",
        "cai",
        "can",
        "cho",
        "chi",
        "chu",
        "co",
        "cua",
        "cung",
        "da",
        "de",
        "di",
        "do",
        "duoc",
        "em",
        "gi",
        "giup",
        "ha",
        "hien",
        "hoi",
        "hom",
        "khi",
        "khong",
        "la",
        "lam",
        "len",
        "luc",
        "ma",
        "minh",
        "moi",
        "mot",
        "muon",
        "nao",
        "nay",
        "neu",
        "ngay",
        "nguoi",
        "nhe",
        "nhu",
        "nhung",
        "no",
        "noi",
        "o",
        "oi",
        "phai",
        "rang",
        "roi",
        "sao",
        "se",
        "tai",
        "thi",
        "thoi",
        "tren",
        "trong",
        "ve",
        "vay",
        "vi",
        "voi",
        "xin",
        "nhi",
        "vui",
        "long",
        "cam",
        "on",
        "chao",
        "u",
        "uh",
        "ad",
        "admin",
        "thu",
        "tuc",
    ]
)

# Pronouns that fold onto content words: "tôi" (I) is "toi" like "tội" (crime). Dropped only when
# written with their diacritics; an unaccented "toi" stays, since it may be the crime.
ACCENTED_STOPWORDS = frozenset(["tôi", "tui", "mình", "ai", "hay", "nhờ", "giúp"])
# The other way round: content words that fold onto a function word. Kept only when written with
# their diacritics ("mất ví" is a wallet, "vì" is because); without them there is no telling.
ACCENTED_CONTENT = frozenset(["ví", "chủ", "cửa", "đỏ", "mã", "tài", "tải", "rơi", "vay", "hội"])

# Field weights: the name says what the article is; keywords are how residents say it.
WEIGHTS = {"name": 3.0, "keywords": 2.0, "code": 2.0, "summary": 1.0, "body": 0.4}
K1, B = 1.2, 0.5
# Below this much coverage nothing is returned at all: a single shared word is not a match.
MIN_COVERAGE = 0.12
ACCENT = "~"  # marks a feature kept with its diacritics
W_WORDS, W_PAIRS, W_LEAD = 0.45, 0.35, 0.2
# Two words pair when at most this many dropped words stand between them, less one: "nhà tôi
# hay bị mất điện" must not pair "nhà mất" (a death in the family) across three of them.
MAX_GAP = 2


def _phrases(table: dict[str, str]) -> list[tuple[list[str], list[str]]]:
    items = [(k.split(), v.split()) for k, v in table.items()]
    return sorted(items, key=lambda kv: -len(kv[0]))


_SYNONYMS = _phrases(SYNONYMS)


@dataclass(frozen=True, slots=True)
class _Token:
    word: str  # folded
    at: int  # position in the text, stopwords counted: pairs never span a gap
    kept: bool = False  # a content word whose folded form is a function word's


def _expand(tokens: list[_Token]) -> list[_Token]:
    """Abbreviations replaced, synonym expansions appended after the phrase they explain."""
    tokens = [
        t if t.word in SYNONYMS else _Token(ABBREVIATIONS.get(t.word, t.word), t.at, t.kept)
        for t in tokens
    ]
    words = [t.word for t in tokens]
    out: list[_Token] = []
    i = 0
    while i < len(tokens):
        for phrase, expansion in _SYNONYMS:
            n = len(phrase)
            if words[i : i + n] == phrase:
                out.extend(tokens[i : i + n])
                at = tokens[i + n - 1].at
                out.extend(_Token(w, at) for w in expansion)
                i += n
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


def _pairs_of(tokens: list[_Token]) -> list[str]:
    return [f"{a.word} {b.word}" for a, b in pairwise(tokens) if b.at - a.at <= MAX_GAP]


def features(text: str) -> list[str]:
    """Folded syllables and syllable pairs, plus the accented ones where the text has diacritics."""
    words = _WORD.findall(clean(text).casefold())
    accented = [(i, w, fold(w)) for i, w in enumerate(words) if w not in ACCENTED_STOPWORDS]
    tokens = [_Token(f, i, w in ACCENTED_CONTENT) for i, w, f in accented]
    content = [t for t in _expand(tokens) if t.kept or t.word not in STOPWORDS]
    out = [t.word for t in content]
    out.extend(_pairs_of(content))
    marked = [
        _Token(w, i)
        for i, w, f in accented
        if w != f and (f not in STOPWORDS or w in ACCENTED_CONTENT)
    ]
    out.extend(ACCENT + t.word for t in marked)
    out.extend(ACCENT + pair for pair in _pairs_of(marked))
    return out


def _fields(p: Procedure) -> dict[str, str]:
    c = p.content
    body = " ".join(
        [
            c.authority,
            c.who_may_file,
            c.filing_notes,
            *(d.name + " " + (d.form_code or "") for d in c.documents),
        ]
    )
    return {
        "name": c.name,
        "keywords": " . ".join(c.keywords),
        "code": p.code.replace("_", " "),
        "summary": c.summary,
        "body": body,
    }


@dataclass(slots=True)
class _Doc:
    code: str
    tf: dict[str, float]
    length: float


class BM25Matcher:
    def __init__(self) -> None:
        self._docs: list[_Doc] = []
        self._idf: dict[str, float] = {}
        self._postings: dict[str, list[int]] = {}
        self._avg_len = 1.0
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str | None:
        return self._fingerprint

    def build(self, procedures: Sequence[Procedure], fingerprint: str) -> None:
        docs: list[_Doc] = []
        for p in procedures:
            tf: dict[str, float] = defaultdict(float)
            for name, text in _fields(p).items():
                for feature in features(text):
                    tf[feature] += WEIGHTS[name]
            docs.append(_Doc(p.code, dict(tf), sum(tf.values())))
        df = Counter(f for d in docs for f in d.tf)
        n = len(docs)
        postings: dict[str, list[int]] = defaultdict(list)
        for i, d in enumerate(docs):
            for f in d.tf:
                postings[f].append(i)
        self._docs = docs
        self._idf = {f: math.log(1 + (n - k + 0.5) / (k + 0.5)) for f, k in df.items()}
        self._postings = dict(postings)
        self._avg_len = (sum(d.length for d in docs) / n) if n else 1.0
        self._fingerprint = fingerprint

    def rank(self, question: str, *, limit: int = 3) -> list[ProcedureMatch]:
        query = Counter(features(question))
        accents = {fold(w): w for w in _WORD.findall(clean(question).casefold()) if fold(w) != w}
        if not query or not self._docs:
            return []
        scores: dict[int, float] = defaultdict(float)
        for f, q in query.items():
            idf = self._idf.get(f)
            if idf is None:
                continue
            for i in self._postings[f]:
                d = self._docs[i]
                tf = d.tf[f]
                norm = K1 * (1 - B + B * d.length / self._avg_len)
                scores[i] += idf * tf * (K1 + 1) / (tf + norm) * (1 + math.log(q))
        if not scores:
            return []
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], self._docs[kv[0]].code))
        best = ranked[0][1]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        out = []
        for i, score in ranked[:limit]:
            doc = self._docs[i]
            words = self._coverage(_single(query), doc, accents)
            if words < MIN_COVERAGE:
                continue
            pairs = self._coverage(_pairs(query), doc) if _pairs(query) else words
            lead = (score - runner_up) / score if score == best and best > 0 else 0.0
            out.append(ProcedureMatch(doc.code, score, _confidence(words, pairs, lead)))
        return out

    def _coverage(
        self, features: list[str], doc: _Doc, accents: dict[str, str] | None = None
    ) -> float:
        """Share of the question's weight (by idf; unknown words weigh the most) in the article.
        A word the question writes with diacritics counts half where the article has it only
        with other ones: "mất điện" is not "mất" (died) of a deregistration."""
        unknown = max(self._idf.values(), default=1.0)
        total = covered = 0.0
        for f in features:
            weight = self._idf.get(f, unknown)
            total += weight
            if f in doc.tf:
                marked = (accents or {}).get(f)
                exact = marked is None or ACCENT + marked in doc.tf
                covered += weight if exact else weight / 2
        return covered / total if total else 0.0


def _single(query: Iterable[str]) -> list[str]:
    """Folded single syllables: pairs and accented copies would count the same word twice."""
    return [f for f in query if " " not in f and not f.startswith(ACCENT)]


def _pairs(query: Iterable[str]) -> list[str]:
    return [f for f in query if " " in f and not f.startswith(ACCENT)]


def _confidence(words: float, pairs: float, lead: float) -> float:
    """Words say the question is about this article; pairs that it says it the article's way;
    the lead that no other article is as close."""
    return round(min(1.0, W_WORDS * words + W_PAIRS * pairs + W_LEAD * lead), 4)
