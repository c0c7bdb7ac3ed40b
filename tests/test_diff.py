"""The word diff of two versions (archive/diff.py): what it keeps of the unchanged text."""

from __future__ import annotations

from archive.diff import word_diff


def test_the_unchanged_text_after_the_last_change_keeps_its_first_words_in_order():
    # a change in the first paragraph, then a long unchanged second paragraph
    old = "a0 a1 a2 a3 a4\n" + " ".join(f"b{n}" for n in range(40))
    new = "a0 a1 CHANGED a3 a4\n" + " ".join(f"b{n}" for n in range(40))
    ops = word_diff(old, new, context=5)
    # five tokens, the paragraph mark among them; never a word from the paragraph's end
    assert ops == [["=", "a0 a1"], ["-", "a2"], ["+", "CHANGED"], ["=", "a3 a4\nb0 b1 …"]]


def test_a_long_unchanged_run_between_changes_keeps_both_ends():
    words = [f"w{n}" for n in range(30)]
    ops = word_diff(" ".join(["x", *words, "y"]), " ".join(["X", *words, "Y"]), context=3)
    assert ops == [["-", "x"], ["+", "X"], ["=", "w0 w1 w2 … w27 w28 w29"], ["-", "y"], ["+", "Y"]]
