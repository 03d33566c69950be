"""Evaluation: metrics (FID, PRDC, coverage, modes), scoring through the classifier, the
classifier's training, the report's tables and charts."""
