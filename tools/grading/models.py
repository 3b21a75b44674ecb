"""Take back a Keras model from the sandbox as data: checked, then loaded in safe mode."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from .plan import WrongAnswer

MAX_MODEL_BYTES = 200 * 2**20
ALLOWED_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}


def _modules(config) -> set[str]:
    """Every ``module`` a Keras config names, anywhere in it."""
    found = set()
    if isinstance(config, dict):
        if isinstance(config.get("module"), str):
            found.add(config["module"])
        for value in config.values():
            found |= _modules(value)
    elif isinstance(config, list):
        for value in config:
            found |= _modules(value)
    return found


def check_model_file(path: Path) -> None:
    """Refuse anything but a plain ``.keras`` archive of Keras's own layers."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise WrongAnswer("the saved model is not a .keras archive")
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        names = {member.filename for member in members}
        if not names <= ALLOWED_MEMBERS or "config.json" not in names:
            raise WrongAnswer(f"unexpected files in the saved model: {sorted(names)[:5]}")
        if sum(member.file_size for member in members) > MAX_MODEL_BYTES:
            raise WrongAnswer("the saved model is too large")
        try:
            config = json.loads(archive.read("config.json"))
        except ValueError as error:
            raise WrongAnswer("the saved model's config is not JSON") from error
    foreign = sorted(m for m in _modules(config) if m != "keras" and not m.startswith("keras."))
    if foreign:
        raise WrongAnswer(
            f"the model uses code from outside Keras ({foreign[:3]}): "
            "only Keras's own layers can be graded"
        )
    if '"Lambda"' in json.dumps(config):
        raise WrongAnswer("the model holds a Lambda layer (Python code): it cannot be graded")


def load_model(path: Path):
    """The model, loaded with ``safe_mode=True`` after :func:`check_model_file`."""
    import keras

    check_model_file(path)
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=True)
    except Exception as error:  # any refusal is the answer's fault
        raise WrongAnswer(f"the saved model does not load safely: {str(error)[:200]}") from error


def fresh_copy(model):
    """The same architecture with new weights (nothing trained in the sandbox is kept)."""
    import keras

    copy = keras.models.clone_model(model)
    if getattr(model, "optimizer", None) is not None and model.loss is not None:
        optimizer = keras.optimizers.deserialize(keras.optimizers.serialize(model.optimizer))
        copy.compile(optimizer=optimizer, loss=model.loss)
    return copy
