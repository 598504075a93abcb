"""MatrixResize computes what Keras's antialiased bilinear Resizing computes, shrinking and growing."""

import numpy as np
import pytest

pytestmark = pytest.mark.backend  # keras.ops under each backend


@pytest.mark.parametrize("integer_weights, atol", [(False, 1e-3), (True, 0.1)])
def test_matrix_resize_matches_antialiased_resizing(integer_weights, atol):
    import keras

    from autonas.deploy.resize import MatrixResize

    rng = np.random.default_rng(0)
    for height, width in [(16, 16), (20, 30), (90, 60), (7, 9), (200, 13)]:
        images = rng.uniform(0, 255, (2, height, width, 3)).astype(np.float32)
        expected = keras.ops.convert_to_numpy(keras.layers.Resizing(16, 12, antialias=True)(images))
        got = keras.ops.convert_to_numpy(MatrixResize(16, 12, integer_weights=integer_weights)(images))
        assert got.shape == (2, 16, 12, 3)
        np.testing.assert_allclose(got, expected, atol=atol)  # of pixel values 0-255


def test_only_antialiased_bilinear_resizing_is_replaced():
    import keras

    from autonas.deploy.resize import MatrixResize, replace_antialiased_resizing

    inputs = keras.Input((None, None, 3))
    plain = keras.Model(inputs, keras.layers.Resizing(8, 8)(inputs))
    assert replace_antialiased_resizing(plain) is plain
    smooth = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Resizing(8, 8, antialias=True)(inputs)))
    swapped = replace_antialiased_resizing(smooth)
    assert isinstance(swapped.layers[1], MatrixResize) and swapped.layers[2] is smooth.layers[2]
