"""forge-batch: tool-calling training data through batch LLM APIs."""

__version__ = "0.1.0"
