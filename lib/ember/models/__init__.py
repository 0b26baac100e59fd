"""Ready-made models: `ember.models.digits_classifier(pretrained=True)`."""
from .digits import DigitsMLP, digits_classifier

__all__ = ["DigitsMLP", "digits_classifier"]
