"""Mixed precision: switched on only with a GPU, and the last layers stay float32."""

from __future__ import annotations

import keras
import pytest
import tensorflow as tf

import cnnbook
from cnnbook import ladder, mnist


@pytest.fixture
def restore_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_without_a_gpu_mixed_precision_is_refused_with_a_note(monkeypatch, capsys, restore_policy):
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    assert cnnbook.use_mixed_precision(True) == "float32"
    assert "needs a GPU" in capsys.readouterr().out
    assert keras.mixed_precision.global_policy().name == "float32"
    assert cnnbook.use_mixed_precision(False) == "float32"
    with pytest.raises(ValueError, match="True or False"):
        cnnbook.use_mixed_precision("yes")


def test_with_a_gpu_layers_compute_in_float16_and_the_last_layer_in_float32(
    monkeypatch, restore_policy
):
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    assert cnnbook.use_mixed_precision(True) == "mixed_float16"
    monkeypatch.undo()  # Keras asks for the devices too when it trains: the real ones
    digits = mnist.build_mnist_convnet()
    assert digits.get_layer("conv_1").compute_dtype == "float16"
    assert digits.get_layer("conv_1").variable_dtype == "float32"  # weights stay float32
    assert digits.get_layer("classifier").compute_dtype == "float32"
    assert digits.output.dtype == "float32"
    modern = ladder.build_modern((32, 32, 3))
    assert modern.get_layer("dog_score").compute_dtype == "float32"
    assert modern.output.dtype == "float32"
    # and it still trains: one small batch, a finite loss
    images = tf.random.uniform((8, 28, 28, 1)).numpy()
    labels = tf.range(8).numpy() % 10
    history = mnist.train(digits, images, labels, num_epochs=1, batch_size=8, verbose=0)
    assert tf.math.is_finite(history.history["loss"][0])
    assert cnnbook.use_mixed_precision(False) == "float32"
