"""Agents: narrate what the engine computed, through LLM providers."""
