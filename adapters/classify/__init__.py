"""Classifiers of inbound messages: implementations of domain.classification.Classifier."""

from adapters.classify.keywords import KeywordClassifier

__all__ = ["KeywordClassifier"]
