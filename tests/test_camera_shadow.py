"""Cast shadows leave the motion detector's blobs; people seen with little contrast stay.

Frames are drawn here: a tiled grey-beige floor with sensor noise, a person in coloured
clothes, and beside them a shadow that darkens the floor's three channels by 40 % (deeper
than the grey-only test can take, which must leave mid-grey and coloured clothes alone).
"""

import numpy as np

from sensors.camera.detect import MotionDetector
from sensors.camera.options import PipelineOptions

SIZE = (160, 120)
FLOOR = np.array((150, 160, 170), np.float32)  # BGR


def floor(rng: np.random.Generator) -> np.ndarray:
    img = np.tile(FLOOR, (SIZE[1], SIZE[0], 1))
    img[::12] *= 0.9  # tile joints: texture a shadow keeps
    return np.clip(img + rng.normal(0, 2.0, img.shape), 0, 255)


def detect(draw) -> np.ndarray:
    rng = np.random.default_rng(4)
    detector = MotionDetector(PipelineOptions(), SIZE, 10.0)
    boxes = np.zeros((0, 4))
    for i in range(40):
        img = floor(rng)
        if i >= 30:
            draw(img)
        frame = img.astype(np.uint8)
        grey = (frame @ np.array([0.114, 0.587, 0.299])).astype(np.uint8)
        boxes = detector.detect(grey, frame)
    return boxes


def test_a_deep_cast_shadow_is_not_part_of_the_person() -> None:
    def person_and_shadow(img: np.ndarray) -> None:
        img[50:80, 60:72] = (60, 60, 180)  # a red coat, 12 px wide
        img[72:82, 72:100] *= 0.6  # their shadow on the floor, to the right of the feet

    boxes = detect(person_and_shadow)
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    assert x <= 61 and x + w <= 76, boxes  # the shadow (to x = 100) is left out


def test_a_person_with_no_contrast_but_the_floors_colour_stays_whole() -> None:
    def dim_person(img: np.ndarray) -> None:
        # Behind glass, or in clothes of the floor's colour: darker by the same fraction in
        # every channel, like a shadow, but nobody casts it: it is the person.
        img[50:80, 60:72] *= 0.6

    boxes = detect(dim_person)
    assert len(boxes) == 1
    assert boxes[0][2] >= 10 and boxes[0][3] >= 26, boxes
