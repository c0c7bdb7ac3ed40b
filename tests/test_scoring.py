"""The benchmarks' author score (benchmarks.scoring): the figures the extraction benchmark prints."""

from benchmarks.scoring import author_score, cut_short


def test_author_score_compares_a_byline_s_name_words_not_its_date():
    score = author_score([
        ("By Nathan Willis\n  March 29, 2017", ["Nathan Willis"]),  # the truth's date is no name
        ("By Nathan Willis\n  March 29, 2017", ["Nathan Willis March"]),  # ours is
        ("Par Sébastien Farcis", ["AFP"]),
        ("Martin Untersinger (avec Damien Leloup)", ["Martin Untersinger"]),
    ])
    assert (score.exact, score.pages) == (1, 4)
    # words found: nathan willis, nathan willis march, afp, martin untersinger (8); right: 6
    assert round(score.precision, 3) == round(6 / 8, 3)
    # true words: nathan willis (x2), sébastien farcis, martin untersinger avec damien leloup (11)
    assert round(score.recall, 3) == round(6 / 11, 3)


def test_cut_short_names_only_stories_that_full_mode_finds_whole():
    story = " ".join(f"word{i} and more words of paragraph {i}." for i in range(40))
    first_paragraph = story[:120]
    pages = [
        ("cut", story, first_paragraph, story),  # ours cut short, full mode whole
        ("both", story, first_paragraph, first_paragraph),  # full mode cut it too: not ours to answer for
        ("whole", story, story, story),
    ]
    assert cut_short(pages) == ["cut"]
