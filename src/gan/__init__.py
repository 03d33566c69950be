"""fashion-gan: GAN experiments on Fashion-MNIST with DVC and MLflow."""

CLASS_NAMES = (
    "t-shirt/top", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)


def class_slug(name_or_index: str | int) -> str:
    """Metric-key form of a class: 5 or "sandal" -> "5_sandal", "t-shirt/top" -> "0_t-shirt_top"."""
    k = name_or_index if isinstance(name_or_index, int) else CLASS_NAMES.index(name_or_index)
    return f"{k}_{CLASS_NAMES[k].replace('/', '_').replace(' ', '_')}"
