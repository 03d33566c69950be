"""The Model Registry: an experiment's best generator (chosen by the report's ranking) under a
name per dataset, with the alias `best`. MLflow is imported only when tracking."""

from __future__ import annotations

BEST = "best"


def register_best(model_id: str, name: str, tags: dict[str, str]) -> str:
    """Register the logged model MODEL_ID as NAME with the alias `best` (a new version only
    when `best` names another model); the version."""
    import mlflow

    client, source = mlflow.MlflowClient(), f"models:/{model_id}"
    try:
        current = client.get_model_version_by_alias(name, BEST)
        if current.source == source:  # (a version's model_id is not filled in by every store)
            return current.version
    except mlflow.exceptions.MlflowException:  # no such model or alias yet
        pass
    version = mlflow.register_model(source, name, tags=tags)
    client.set_registered_model_alias(name, BEST, version.version)
    return version.version
