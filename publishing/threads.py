"""Splitting a text that is too long for one post into a thread, measured by the platform's own
counting (publishing.textcount), so each part passes the same check the services make on submit.

Parts break at a sentence's end where one is near enough, else between words; a word longer than
a whole part is cut between graphemes (an emoji sequence stays whole), a URL never.
"""

from dataclasses import dataclass

import regex

from connections.providers.base import TextRules
from publishing.textcount import URL, text_length

# Where a sentence ends: its punctuation (also the ellipsis and CJK's full stops), maybe closed
# by quotes or brackets.
SENTENCE_END = regex.compile(r"[.!?\u2026\u3002\uff01\uff1f]['\"\u2019\u201d)\]\u00bb]*$")
WORD = regex.compile(r"\S+")
# A part closes at the last sentence end only when that keeps at least this share of it filled;
# otherwise one long sentence would leave a nearly empty part behind.
SENTENCE_FILL = 0.5
MAX_TEXT = 100_000  # far more than any thread holds: a bound on the work, not a rule


class SplitError(ValueError):
    """A text that cannot become a thread, in words for the author."""


@dataclass(frozen=True)
class _Word:
    text: str
    space: str  # the whitespace before it, kept inside a part (line breaks stay)

    @property
    def ends_sentence(self) -> bool:
        return bool(SENTENCE_END.search(self.text)) or "\n" in self.space


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
    words = [_Word(m.group(), text[_prev_end(text, m.start()) : m.start()]) for m in WORD.finditer(text)]
    parts = _fill(words, rules, rules.max_length)
    if numbered:
        parts = _numbered(words, rules, len(parts))
    if max_parts is not None and len(parts) > max_parts:
        raise SplitError(f"That makes {len(parts)} posts; a thread here holds at most {max_parts}. Shorten the text.")
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


def _numbered(words: list[_Word], rules: TextRules, guess: int) -> list[str]:
    """Parts with " i/N" appended; room is kept for the widest number, and N found again until
    the count it was kept for is the count it gives (a longer number can add a part)."""
    total = guess
    for _attempt in range(5):
        room = rules.max_length - text_length(numbering(total, total), rules)
        parts = _fill(words, rules, room)
        if len(parts) <= total:
            break
        total = len(parts)
    return [part + numbering(i, len(parts)) for i, part in enumerate(parts, start=1)]


def _fill(words: list[_Word], rules: TextRules, room: int) -> list[str]:
    """Greedy: each part takes words while they fit, then closes at its last sentence end if
    that end keeps it at least half full."""
    parts: list[str] = []
    current: list[_Word] = []
    queue = list(words)
    while queue:
        word = queue.pop(0)
        if _weight([*current, word], rules) <= room:
            current.append(word)
            continue
        if not current:  # a word longer than a whole part
            head, tail = _cut_word(word.text, rules, room)
            parts.append(head)
            queue.insert(0, _Word(tail, ""))
            continue
        cut = _sentence_cut(current, rules, room)
        parts.append(_joined(current[:cut]))
        current = current[cut:]
        queue.insert(0, word)
    if current:
        parts.append(_joined(current))
    return parts


def _sentence_cut(words: list[_Word], rules: TextRules, room: int) -> int:
    for end in range(len(words), 0, -1):
        if words[end - 1].ends_sentence:
            return end if _weight(words[:end], rules) >= room * SENTENCE_FILL else len(words)
    return len(words)


def _joined(words: list[_Word]) -> str:
    return "".join(w.space + w.text for w in words).strip()


def _weight(words: list[_Word], rules: TextRules) -> int:
    return text_length(_joined(words), rules)


def _cut_word(word: str, rules: TextRules, room: int) -> tuple[str, str]:
    """The longest head of a too-long word that fits, cut between graphemes and never inside a
    URL (a URL weighs a fixed amount, so it always fits a part on its own)."""
    pieces: list[str] = []
    position = 0
    for match in URL.finditer(word):
        pieces += [*regex.findall(r"\X", word[position : match.start()]), match.group()]
        position = match.end()
    pieces += regex.findall(r"\X", word[position:])
    low, high = 1, len(pieces)  # the head takes pieces[:n]: find the largest n that fits
    while low < high:
        middle = (low + high + 1) // 2
        if text_length("".join(pieces[:middle]), rules) <= room:
            low = middle
        else:
            high = middle - 1
    if text_length(pieces[0], rules) > room:
        raise SplitError("This text cannot be split within the limit.")
    return "".join(pieces[:low]), "".join(pieces[low:])
