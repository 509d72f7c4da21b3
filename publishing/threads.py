"""Splitting a text that is too long for one post into a thread, measured by the platform's own
counting (publishing.textcount), so each part passes the same check the services make on submit.

Parts break at a sentence's end where one is near enough, else between words; a word longer than
a whole part is cut between graphemes (an emoji sequence stays whole), a URL never.
"""

from collections import deque
from dataclasses import dataclass

import regex

from connections.providers.base import TextRules
from publishing.textcount import URL, text_length

# Where a sentence ends: its punctuation (also the ellipsis and CJK's full stops), maybe closed
# by quotes or brackets.
SENTENCE_END = regex.compile(r"[.!?\u2026\u3002\uff01\uff1f]['\"\u2019\u201d)\]\u00bb]*$")
WORD = regex.compile(r"\S+")
GRAPHEME = regex.compile(r"\X")
# A part closes at the last sentence end only when that keeps at least this share of it filled;
# otherwise one long sentence would leave a nearly empty part behind.
SENTENCE_FILL = 0.5
MAX_TEXT = 50_000  # a post's own limit in the API, and far more than a thread holds: a bound on the work


class SplitError(ValueError):
    """A text that cannot become a thread, in words for the author."""


@dataclass(frozen=True)
class _Word:
    text: str
    space: str  # the whitespace before it, kept inside a part (line breaks stay)
    weight: int  # of the text, by the platform's counting
    space_weight: int  # of the whitespace, counted only inside a part

    @property
    def ends_sentence(self) -> bool:
        return bool(SENTENCE_END.search(self.text)) or "\n" in self.space


def _word(text: str, space: str, rules: TextRules) -> _Word:
    return _Word(text, space, text_length(text, rules), text_length(space, rules))


def numbering(index: int, total: int) -> str:
    """What a numbered part ends with: " 2/5"."""
    return f" {index}/{total}"


def split_thread(text: str, rules: TextRules, *, numbered: bool = False, max_parts: int | None = None) -> list[str]:
    """The parts of a thread, in order, each within ``rules.max_length`` as ``rules`` count it
    (numbering included). A text that fits is one part. ``max_parts`` refuses a longer thread."""
    text = text.strip()
    if not text:
        raise SplitError("Write the text to split first.")
    if len(text) > MAX_TEXT:
        raise SplitError(f"Keep the text under {MAX_TEXT:,} characters to split it.")
    if text_length(text, rules) <= rules.max_length:
        return [text]
    # Each word is weighed once: whitespace separates what the counting treats apart (URLs,
    # graphemes), so a part weighs the sum of its words and inner spaces; checked whole below.
    words = [_word(m.group(), text[_prev_end(text, m.start()) : m.start()], rules) for m in WORD.finditer(text)]
    too_many = SplitError(f"That makes more than {max_parts} posts, the most a thread here holds. Shorten the text.")
    # Every word's weight lands in some part (a cut word's two pieces weigh what it did), so
    # words heavier than the whole thread can hold are refused before any splitting.
    if max_parts is not None and sum(w.weight for w in words) > max_parts * rules.max_length:
        raise too_many
    parts = _fill(words, rules, rules.max_length, max_parts)
    if numbered and (max_parts is None or len(parts) <= max_parts):
        parts = _numbered(words, rules, len(parts), max_parts)
    if max_parts is not None and len(parts) > max_parts:
        raise too_many
    for part in parts:  # the whole point: never hand back a part the services would refuse
        if text_length(part, rules) > rules.max_length:
            raise SplitError("This text cannot be split within the limit.")
    return parts


def _prev_end(text: str, start: int) -> int:
    """Where the whitespace before position ``start`` begins."""
    end = start
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return end


def _numbered(words: list[_Word], rules: TextRules, guess: int, max_parts: int | None) -> list[str]:
    """Parts with " i/N" appended; room is kept for the widest number, and N found again until
    the count it was kept for is the count it gives (a longer number can add a part)."""
    total = guess
    for _attempt in range(5):
        room = rules.max_length - text_length(numbering(total, total), rules)
        parts = _fill(words, rules, room, max_parts)
        if len(parts) <= total:
            break
        total = len(parts)
    return [part + numbering(i, len(parts)) for i, part in enumerate(parts, start=1)]


def _fill(words: list[_Word], rules: TextRules, room: int, max_parts: int | None = None) -> list[str]:
    """Greedy: each part takes words while they fit, then closes at its last sentence end if
    that end keeps it at least half full. Stops once it has more than ``max_parts``."""
    parts: list[str] = []
    current: list[_Word] = []
    total = 0
    queue = deque(words)
    while queue and (max_parts is None or len(parts) <= max_parts):
        word = queue.popleft()
        added = word.weight + (word.space_weight if current else 0)
        if total + added <= room:
            current.append(word)
            total += added
            continue
        if not current:  # a word longer than a whole part
            head, tail = _cut_word(word.text, rules, room)
            parts.append(head)
            # Cut between graphemes (URLs whole), the two pieces weigh what the word did.
            queue.appendleft(_Word(tail, "", word.weight - text_length(head, rules), 0))
            continue
        cut = _sentence_cut(current, room)
        parts.append(_joined(current[:cut]))
        current = current[cut:]
        total = _weight(current)
        queue.appendleft(word)
    if current:
        parts.append(_joined(current))
    return parts


def _sentence_cut(words: list[_Word], room: int) -> int:
    """How many of a full part's words to keep: up to its last sentence end when that end is at
    least half the room, else all of them."""
    running, prefix = 0, []  # prefix[i]: the weight of words[: i + 1]
    for index, word in enumerate(words):
        running += word.weight + (word.space_weight if index else 0)
        prefix.append(running)
    for end in range(len(words), 0, -1):
        if words[end - 1].ends_sentence:
            return end if prefix[end - 1] >= room * SENTENCE_FILL else len(words)
    return len(words)


def _joined(words: list[_Word]) -> str:
    return "".join(w.space + w.text for w in words).strip()


def _weight(words: list[_Word]) -> int:
    return sum(w.weight for w in words) + sum(w.space_weight for w in words[1:])


def _cut_word(word: str, rules: TextRules, room: int) -> tuple[str, str]:
    """The longest head of a too-long word that fits, cut between graphemes and never inside a
    URL (a URL weighs a fixed amount, so it always fits a part on its own)."""
    # Pieces (a URL whole, else one grapheme) from the start: every piece weighs at least 1, so
    # no more than ``room`` of them can fit, and the rest of the word is not looked at.
    pieces: list[str] = []
    position = 0
    while position < len(word) and len(pieces) < room:
        match = URL.match(word, position) or GRAPHEME.match(word, position)
        if match is None:  # \X matches any character: only an empty remainder has no match
            break
        pieces.append(match.group())
        position = match.end()
    taken, total = 0, 0  # the head is pieces[:taken], as many as fit
    for piece in pieces:
        total += text_length(piece, rules)
        if total > room:
            break
        taken += 1
    if not taken:
        raise SplitError("This text cannot be split within the limit.")
    head = "".join(pieces[:taken])
    return head, word[len(head) :]
