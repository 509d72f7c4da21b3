"""Aspect guidance: whether an image's shape shows whole on a platform, is cut by its feed, or
is refused, in words that name the shapes, and the share of the image the platform keeps."""

import pytest

from connections.providers.media_rules import IMAGE, VIDEO, FormatRule, MediaFacts, aspect_fit, ratio_name

FEED = FormatRule(IMAGE, "Net images", ("image/jpeg",), feed_aspect_range=(0.8, 1.91))
HARD = FormatRule(IMAGE, "Net images", ("image/jpeg",), aspect_range=(0.8, 1.91))


def photo(width: int | None, height: int | None, kind: str = IMAGE) -> MediaFacts:
    return MediaFacts(name="shot.jpg", kind=kind, mime_type="image/jpeg", size=1000, width=width, height=height)


@pytest.mark.parametrize(
    ("value", "name"),
    [(1.0, "1:1"), (0.8, "4:5"), (1080 / 1920, "9:16"), (1920 / 1080, "16:9"), (1.91, "1.91:1"), (4 / 3, "4:3"),
     (2.5, "2.5:1"), (1.005, "1:1")],
)  # fmt: skip
def test_ratio_names_are_the_ones_people_write(value, name):
    assert ratio_name(value) == name


def test_a_shape_inside_the_range_fits():
    fit = aspect_fit(FEED, photo(1600, 1200))
    assert fit is not None
    assert fit.fits
    assert fit.kept is None
    assert fit.message == "Net images: 4:5 to 1.91:1; shot.jpg (4:3) fits."


def test_the_bounds_themselves_fit():
    assert aspect_fit(FEED, photo(1080, 1350)).fits  # 4:5 exactly
    assert aspect_fit(FEED, photo(1910, 1000)).fits


def test_a_tall_photo_is_cut_top_and_bottom_by_the_feed():
    fit = aspect_fit(FEED, photo(1080, 1920))
    assert fit.verdict == "cut"
    assert (
        fit.message
        == "Net images: the feed shows 4:5 to 1.91:1 whole; shot.jpg (9:16) will be cut to 4:5 at the top and bottom."
    )
    width, height = fit.kept
    assert width == 1.0
    assert height == pytest.approx((1080 / 1920) / 0.8)  # a 4:5 window across the full width


def test_a_wide_photo_is_cut_at_the_sides():
    fit = aspect_fit(FEED, photo(3000, 1000))
    assert fit.verdict == "cut"
    assert "cut to 1.91:1 at the sides" in fit.message
    assert fit.kept == (pytest.approx(1.91 / 3), 1.0)


def test_a_hard_range_refuses_and_says_how_to_crop():
    fit = aspect_fit(HARD, photo(1080, 1920))
    assert fit.verdict == "refused"
    assert not fit.fits
    assert (
        fit.message
        == "Net images: 4:5 to 1.91:1 only; crop shot.jpg (9:16) to 4:5 (its top and bottom) before posting."
    )
    assert fit.kept[1] == pytest.approx(0.703, abs=0.001)


@pytest.mark.parametrize(
    ("rule", "item"),
    [
        (FormatRule(IMAGE, "Net images", ("image/jpeg",)), photo(1080, 1920)),  # the rule says nothing of shape
        (FEED, photo(None, None)),  # the file's size is unknown
        (FEED, photo(1080, 1920, kind=VIDEO)),  # only images are judged
    ],
)
def test_no_guidance_without_a_shape_to_judge(rule, item):
    assert aspect_fit(rule, item) is None
